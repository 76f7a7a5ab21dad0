using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Integration;
using Ingest.Targets.StepFunctions;
using Ingest.Targets.Tests.Lambda;
using Ingest.TestSupport.Fakes;

namespace Ingest.Targets.Tests.StepFunctions;

/// <summary>
/// StartExecution and StartSyncExecution against two fake endpoints playing the <c>states</c> and
/// <c>sync-states</c> hosts; each checks host, target header, content type and the signature.
/// </summary>
public sealed class StepFunctionsTargetTests : IAsyncLifetime
{
    private FakeStepFunctionsServer _states = null!;
    private FakeStepFunctionsServer _sync = null!;
    private string _standard = "";
    private string _express = "";

    public async Task InitializeAsync()
    {
        _states = await FakeStepFunctionsServer.StartAsync(syncHost: false);
        _sync = await FakeStepFunctionsServer.StartAsync(syncHost: true);
        _standard = _states.StateMachineArn("orders");
        _express = _sync.StateMachineArn("quote");
        foreach (var fake in new[] { _states, _sync })
        {
            fake.StateMachines[_standard] = false;
            fake.StateMachines[_express] = true;
        }
    }

    public async Task DisposeAsync()
    {
        await _states.DisposeAsync();
        await _sync.DisposeAsync();
    }

    [Fact]
    public async Task StartExecution_sends_the_machine_the_request_id_as_name_and_the_body_as_input()
    {
        var request = SyncRequests.Request(SyncRequests.Route(), body: """{"order":17,"items":["a","b"]}"""u8.ToArray());

        var result = await InvokeAsync(request, Standard());

        Assert.True(result.Failure == IntegrationFailure.None, $"{result.Reason}; fake: {_states.LastRefusal}");
        Assert.Equal(200, result.StatusCode);
        Assert.Equal("application/json", result.ContentType);
        using var answer = JsonDocument.Parse(result.Body);
        Assert.Equal($"arn:aws:states:us-east-1:123456789012:execution:orders:{request.Context.RequestId}", answer.RootElement.GetProperty("executionArn").GetString());
        Assert.Equal(JsonValueKind.Number, answer.RootElement.GetProperty("startDate").ValueKind);

        var execution = Assert.Single(_states.Executions);
        Assert.Equal("StartExecution", execution.Operation);
        Assert.Equal(new Uri(_states.Endpoint).Authority, execution.Host);
        Assert.Equal(_standard, execution.StateMachineArn);
        Assert.Equal(request.Context.RequestId.ToString(), execution.Name);
        Assert.Equal("""{"order":17,"items":["a","b"]}""", execution.Input);
        Assert.Empty(_sync.Executions);
    }

    [Fact]
    public async Task A_retried_request_starts_no_second_execution()
    {
        var request = SyncRequests.Request(SyncRequests.Route(), body: """{"order":18}"""u8.ToArray());

        var first = await InvokeAsync(request, Standard());
        var second = await InvokeAsync(request, Standard());

        Assert.Equal(Encoding.UTF8.GetString(first.Body.Span), Encoding.UTF8.GetString(second.Body.Span));
    }

    [Fact]
    public async Task StartSyncExecution_goes_to_the_sync_host_and_answers_with_the_output()
    {
        _sync.Outcome = e => FakeExecutionOutcome.Succeeded("""{"price":12.5,"for":""" + e.Input + "}");
        var request = SyncRequests.Request(SyncRequests.Route(), body: """{"sku":"x1"}"""u8.ToArray());

        var result = await InvokeAsync(request, Express());

        Assert.True(result.Failure == IntegrationFailure.None, $"{result.Reason}; fake: {_sync.LastRefusal}");
        Assert.Equal(200, result.StatusCode);
        Assert.Equal("application/json", result.ContentType);
        Assert.Equal("""{"price":12.5,"for":{"sku":"x1"}}""", Encoding.UTF8.GetString(result.Body.Span));
        var execution = Assert.Single(_sync.Executions);
        Assert.Equal("StartSyncExecution", execution.Operation);
        Assert.Equal(new Uri(_sync.Endpoint).Authority, execution.Host);
        Assert.Empty(_states.Executions);
    }

    [Fact]
    public async Task A_sync_call_sent_to_the_states_host_is_refused_by_it()
    {
        // Misconfigured: the sync endpoint names the states host, which does not serve StartSyncExecution.
        var config = Config(syncEndpoint: _states.Endpoint);

        var result = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()), Express(), config);

        Assert.Equal(IntegrationFailure.InvalidResponse, result.Failure);
        Assert.Contains("UnknownOperationException", result.Reason);
        Assert.Equal(1, _states.Refused);
    }

    [Theory]
    [InlineData("FAILED", "execution FAILED: States.TaskFailed: the card was declined")]
    [InlineData("TIMED_OUT", "execution TIMED_OUT: States.Timeout: The execution timed out")]
    public async Task A_failed_execution_is_FunctionError_with_error_and_cause(string status, string reason)
    {
        _sync.Outcome = _ => status == "FAILED" ? FakeExecutionOutcome.Failed("States.TaskFailed", "the card was declined") : FakeExecutionOutcome.TimedOut();

        var result = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()), Express());

        Assert.Equal(IntegrationFailure.FunctionError, result.Failure);
        Assert.Equal(200, result.IntegrationStatus);
        Assert.Equal(reason, result.Reason);
    }

    [Fact]
    public async Task A_standard_machine_cannot_run_synchronously()
    {
        var result = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()), new TargetOptions { Type = "stepfunctions", StateMachineArn = _standard, Sync = true });

        Assert.Equal(IntegrationFailure.InvalidResponse, result.Failure);
        Assert.Equal(400, result.IntegrationStatus);
        Assert.StartsWith("Step Functions StartSyncExecution answered 400 StateMachineTypeNotSupported", result.Reason);
    }

    [Fact]
    public async Task An_unknown_machine_is_InvalidResponse_naming_the_error()
    {
        var result = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()), new TargetOptions { Type = "stepfunctions", StateMachineArn = _states.StateMachineArn("missing") });

        Assert.Equal(IntegrationFailure.InvalidResponse, result.Failure);
        Assert.Contains("StateMachineDoesNotExist", result.Reason);
    }

    [Fact]
    public async Task Throttling_is_429_and_500_under_rest_v1()
    {
        _sync.Outcome = _ => FakeExecutionOutcome.Throttled();

        var http = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()), Express());
        var rest = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()), Express(), Config(compat: "rest-v1"));

        Assert.Equal(429, http.StatusCode);
        Assert.Equal("1", Assert.Single(http.Headers, h => h.Key == "Retry-After").Value.ToString());
        Assert.Contains("ThrottlingException", http.Reason);
        Assert.Equal(500, rest.StatusCode);
    }

    [Fact]
    public async Task The_fakes_refuse_a_wrong_secret()
    {
        var config = Config(secret: "wrong");

        var standard = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()), Standard(), config);
        var express = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()), Express(), config);

        Assert.Contains("InvalidSignatureException", standard.Reason);
        Assert.Contains("InvalidSignatureException", express.Reason);
        Assert.Equal(1, _states.Refused);
        Assert.Equal(1, _sync.Refused);
        Assert.Empty(_states.Executions);
        Assert.Empty(_sync.Executions);
    }

    [Theory]
    [InlineData(false, "hello there", "\"hello there\"")]
    [InlineData(false, "", "{}")]
    [InlineData(false, "  [1, 2]  ", "  [1, 2]  ")]
    [InlineData(true, "AAEC", "\"AAEC\"")]
    public async Task The_input_is_always_JSON(bool binary, string body, string input)
    {
        var bytes = binary ? Convert.FromBase64String(body) : Encoding.UTF8.GetBytes(body);

        var result = await InvokeAsync(SyncRequests.Request(SyncRequests.Route(), body: bytes, isBinary: binary), Standard());

        Assert.True(result.Failure == IntegrationFailure.None, $"{result.Reason}; fake: {_states.LastRefusal}");
        Assert.Equal(input, Assert.Single(_states.Executions).Input);
    }

    [Fact]
    public async Task A_request_template_renders_the_input()
    {
        var errors = new List<string>();
        var template = Ingest.Core.Templates.MappingTemplate.Compile("""{"device":"{{ input.path.id }}","reading":{{ input.body }}}""", "routes[0].requestTemplate", errors);
        Assert.Empty(errors);
        var plain = SyncRequests.Request(SyncRequests.Route(), body: """{"t":21}"""u8.ToArray());
        var request = new IntegrationRequest
        {
            Context = plain.Context,
            PathParameters = plain.PathParameters,
            Body = plain.Body,
            RequestTime = plain.RequestTime,
            TraceParent = plain.TraceParent,
            RequestTemplate = template,
        };

        var result = await InvokeAsync(request, Standard());

        Assert.True(result.Failure == IntegrationFailure.None, $"{result.Reason}; fake: {_states.LastRefusal}");
        Assert.Equal("""{"device":"dev-7","reading":{"t":21}}""", Assert.Single(_states.Executions).Input);
    }

    [Fact]
    public async Task An_execution_that_never_answers_ends_in_Timeout()
    {
        _sync.Outcome = _ => FakeExecutionOutcome.Hang();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var watch = Stopwatch.StartNew();

        var result = await InvokeAsync(SyncRequests.Request(SyncRequests.Route(timeout: TimeSpan.FromMilliseconds(300))), Express(), cancellationToken: timeout.Token);

        Assert.Equal(IntegrationFailure.Timeout, result.Failure);
        Assert.Equal("Step Functions StartSyncExecution: no answer within the route timeout (0.3s)", result.Reason);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Validation_reports_every_problem_naming_the_fix()
    {
        var config = new IngestConfig();
        config.Aws.Endpoints["stepfunctions"] = "http://127.0.0.1:1";
        var errors = new List<string>();

        new StepFunctionsTargetKind().Validate("flow", new TargetOptions { Type = "stepfunctions", StateMachineArn = "orders", Sync = true, Function = "fn" }, config, errors);
        new StepFunctionsTargetKind().Validate("flow2", new TargetOptions { Type = "stepfunctions" }, new IngestConfig(), errors);

        Assert.Equal(
            [
                "targets.flow.stateMachineArn: 'orders' is not a state machine ARN. Write e.g. arn:aws:states:us-east-1:123456789012:stateMachine:orders.",
                "targets.flow: sync: true calls StartSyncExecution on its own host, but only aws.endpoints.stepfunctions is set. Set aws.endpoints.stepfunctionsSync as well (AWS: https://sync-states.us-east-1.amazonaws.com; a local emulator: usually the same URL).",
                "targets.flow.function: does not apply to stepfunctions targets. Remove it.",
                "targets.flow2.stateMachineArn: missing. Set the state machine's ARN, e.g. arn:aws:states:us-east-1:123456789012:stateMachine:orders.",
            ],
            errors);
    }

    private TargetOptions Standard() => new() { Type = "stepfunctions", StateMachineArn = _standard };

    private TargetOptions Express() => new() { Type = "stepfunctions", StateMachineArn = _express, Sync = true };

    private IngestConfig Config(string compat = "http-v2", string? secret = null, string? syncEndpoint = null) => SyncRequests.Config(
        compat,
        FakeStepFunctionsServer.AccessKeyId,
        secret ?? FakeStepFunctionsServer.SecretAccessKey,
        endpoints: [("stepfunctions", _states.Endpoint), ("stepfunctionsSync", syncEndpoint ?? _sync.Endpoint)]);

    private async Task<IntegrationResult> InvokeAsync(IntegrationRequest request, TargetOptions options, IngestConfig? config = null, CancellationToken cancellationToken = default)
    {
        await using var target = new StepFunctionsTargetKind().Create("flow", options, SyncRequests.Context(config ?? Config()));
        return await target.InvokeAsync(request, cancellationToken);
    }
}
