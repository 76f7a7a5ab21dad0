using System.Net;
using System.Text.Json;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.TestSupport.Fakes;
using static Ingest.Gateway.Tests.Integration.AwsGateway;

namespace Ingest.Gateway.Tests.Integration.StepFunctions;

/// <summary>
/// The stepfunctions target end to end: a real gateway in front of two fake endpoints, the
/// <c>states</c> host and the <c>sync-states</c> host, each checking host, target header and
/// signature. Each test takes under 3 s.
/// </summary>
public sealed class StepFunctionsGatewayTests : IAsyncLifetime
{
    private FakeStepFunctionsServer _states = null!;
    private FakeStepFunctionsServer _sync = null!;

    public async Task InitializeAsync()
    {
        _states = await FakeStepFunctionsServer.StartAsync(syncHost: false);
        _sync = await FakeStepFunctionsServer.StartAsync(syncHost: true);
        _states.StateMachines[_states.StateMachineArn("orders")] = false;
        _sync.StateMachines[_sync.StateMachineArn("quote")] = true;
    }

    public async Task DisposeAsync()
    {
        await _states.DisposeAsync();
        await _sync.DisposeAsync();
    }

    [Fact]
    public async Task StartExecution_answers_with_the_execution_named_after_the_request_id()
    {
        await using var gateway = await StartAsync();

        using var response = await gateway.Client.PostAsync("/v1/orders", Json("""{"order":17}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var requestId = response.Headers.GetValues("x-request-id").Single();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal($"arn:aws:states:us-east-1:123456789012:execution:orders:{requestId}", body.RootElement.GetProperty("executionArn").GetString());
        Assert.Equal(JsonValueKind.Number, body.RootElement.GetProperty("startDate").ValueKind);
        var execution = Assert.Single(_states.Executions);
        Assert.Equal("""{"order":17}""", execution.Input);
        Assert.Equal(requestId, execution.Name);
        Assert.Empty(_sync.Executions);
        Assert.Equal(200, (await LastLogLineAsync(gateway)).GetProperty("integrationStatus").GetInt32());
    }

    [Fact]
    public async Task A_sync_execution_answers_with_its_output_from_the_sync_host()
    {
        _sync.Outcome = e => FakeExecutionOutcome.Succeeded("""{"price":9.5}""");
        await using var gateway = await StartAsync();

        using var response = await gateway.Client.PostAsync("/v1/quotes", Json("""{"sku":"x1"}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"price":9.5}""", await response.Content.ReadAsStringAsync());
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        var execution = Assert.Single(_sync.Executions);
        Assert.Equal("StartSyncExecution", execution.Operation);
        Assert.Equal(new Uri(_sync.Endpoint).Authority, execution.Host);
        Assert.Empty(_states.Executions);
    }

    [Theory]
    [InlineData("rest-v1", 502, "Internal server error")]
    [InlineData("http-v2", 500, "Internal Server Error")]
    public async Task A_failed_execution_gets_the_compat_answer_with_error_and_cause_in_the_access_log(string compat, int status, string message)
    {
        _sync.Outcome = _ => FakeExecutionOutcome.Failed("QuoteError", "no price for x1");
        await using var gateway = await StartAsync(compat);

        using var response = await gateway.Client.PostAsync("/v1/quotes", Json("""{"sku":"x1"}"""));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(message, await MessageAsync(response));
        var log = await LastLogLineAsync(gateway);
        Assert.Equal("execution FAILED: QuoteError: no price for x1", log.GetProperty("integrationError").GetString());
    }

    [Theory]
    [InlineData("rest-v1", 504, "Endpoint request timed out")]
    [InlineData("http-v2", 503, "Service Unavailable")]
    public async Task An_execution_slower_than_the_route_timeout_gets_the_compat_answer(string compat, int status, string message)
    {
        _sync.Outcome = _ => FakeExecutionOutcome.Hang();
        await using var gateway = await StartAsync(compat, timeout: "300ms");

        using var response = await gateway.Client.PostAsync("/v1/quotes", Json("{}"));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(message, await MessageAsync(response));
        Assert.Equal(
            "Step Functions StartSyncExecution: no answer within the route timeout (0.3s)",
            (await LastLogLineAsync(gateway)).GetProperty("integrationError").GetString());
    }

    [Fact]
    public async Task An_unknown_state_machine_is_502_with_the_service_error_in_the_access_log()
    {
        _states.StateMachines.Clear();
        await using var gateway = await StartAsync();

        using var response = await gateway.Client.PostAsync("/v1/orders", Json("{}"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var log = await LastLogLineAsync(gateway);
        Assert.Equal(400, log.GetProperty("integrationStatus").GetInt32());
        Assert.StartsWith("Step Functions StartExecution answered 400 StateMachineDoesNotExist", log.GetProperty("integrationError").GetString());
    }

    private Task<TestGateway> StartAsync(string compat = "http-v2", string timeout = "5s") =>
        AwsGateway.StartAsync(
            compat,
            "us-east-1",
            FakeStepFunctionsServer.AccessKeyId,
            FakeStepFunctionsServer.SecretAccessKey,
            [("stepfunctions", _states.Endpoint), ("stepfunctionsSync", _sync.Endpoint)],
            $$"""
            targets:
              orders: { type: stepfunctions, stateMachineArn: "{{_states.StateMachineArn("orders")}}" }
              quote: { type: stepfunctions, stateMachineArn: "{{_sync.StateMachineArn("quote")}}", sync: true }
            routes:
              - { route: "POST /v1/orders", target: orders, auth: [none], public: true, timeout: {{timeout}} }
              - { route: "POST /v1/quotes", target: quote, auth: [none], public: true, timeout: {{timeout}} }
            """);
}
