using Ingest.Core.Configuration;
using Ingest.Core.Deployment;

namespace Ingest.Core.Tests.Deployment;

public class StagesValidationTests
{
    private static List<string> Validate(string yaml)
    {
        var errors = new List<string>();
        StagesValidation.Validate(ConfigLoader.Load(yaml), errors);
        return errors;
    }

    [Fact]
    public void The_example_stage_and_stage_variables_in_targets_are_valid()
    {
        var errors = Validate("""
            watch: true
            stages:
              - { name: prod, variables: { ordersHost: "http://127.0.0.1:5000", queue: events-prod }, throttle: { rate: 5000, burst: 2000 }, hosts: [api.example.com] }
              - { name: dev_2, variables: { ordersHost: "http://127.0.0.1:5001", queue: events-dev } }
            targets:
              q: { type: sqs, queue: "${stageVariables.queue}" }
              orders: { type: http, url: "${stageVariables.ordersHost}/orders" }
            """);

        Assert.Empty(errors);
    }

    [Fact]
    public void Every_problem_is_reported_at_once_naming_the_stage_and_the_fix()
    {
        var errors = Validate("""
            deployments: { path: "", watchDebounce: 5m, retireTimeout: 0s }
            stages:
              - { name: "pr od", variables: { "bad-name": x } }
              - { name: prod, throttle: { rate: 0, burst: 0.5, by: sourceIp }, hosts: ["http://api.example.com/", api.example.com] }
              - { name: prod, hosts: [API.example.com] }
            targets:
              q: { type: sqs, queue: "${stageVariables.queue}" }
            routes:
              - { route: "POST /v1/${stageVariables.x}", target: q }
            """);

        Assert.Contains(errors, e => e.StartsWith("stages[0] (pr od).name:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("stages[0] (pr od).variables: 'bad-name'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("stages[1] (prod).throttle.rate:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("stages[1] (prod).throttle.burst:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("stages[1] (prod).throttle.by:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("stages[1] (prod).hosts: 'http://api.example.com/' is not a host name", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("stages[2] (prod).name: stage 'prod' is defined twice", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("stages[2] (prod).hosts: 'API.example.com' is already served by stage 'prod'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("${stageVariables.queue}, which stage 'pr od' does not define", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("routes: ${stageVariables.NAME} can only be used in target settings", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("deployments.path:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("deployments.watchDebounce:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("deployments.retireTimeout:", StringComparison.Ordinal));
        Assert.Equal(15, errors.Count);
    }

    [Fact]
    public void Stage_variables_without_stages_are_an_error()
    {
        var errors = Validate("""
            targets:
              q: { type: sqs, queue: "${stageVariables.queue}" }
            """);

        Assert.Equal(["targets.q: reads ${stageVariables.queue} but there are no stages. Add stages with this variable, or write the value itself."], errors);
    }

    [Fact]
    public void A_target_reading_stage_variables_runs_once_per_stage_and_others_once()
    {
        var config = ConfigLoader.Load("""
            stages:
              - { name: prod, variables: { queue: events-prod } }
              - { name: dev, variables: { queue: events-dev } }
            targets:
              q: { type: sqs, queue: "${stageVariables.queue}", deadLetter: { target: dlq }, batch: { linger: 5ms } }
              dlq: { type: sqs, queue: "dead-${stageVariables.queue}" }
              sink: { type: blackhole }
            """);

        var instances = StagesTargets.Instances(config);

        Assert.Equal(["dlq@dev", "dlq@prod", "q@dev", "q@prod", "sink"], instances.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("events-prod", instances["q@prod"].Options.Queue);
        Assert.Equal("dead-events-dev", instances["dlq@dev"].Options.Queue);
        Assert.Equal(TimeSpan.FromMilliseconds(5), instances["q@dev"].Options.Batch!.Linger);
        Assert.Equal("dlq@prod", StagesTargets.InstanceName(instances, "dlq", "prod"));
        Assert.Equal("sink", StagesTargets.InstanceName(instances, "sink", "prod"));
        // The configuration itself is left as written.
        Assert.Equal("${stageVariables.queue}", config.Targets["q"].Queue);
    }
}
