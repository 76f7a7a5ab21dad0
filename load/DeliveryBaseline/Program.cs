// Minimal batching client and counter for the delivery scenarios of load/run.sh.
//
//   ingest-load-delivery send   sqs|kinesis NAME [--seconds 10] [--warmup 0] [--batch 10|500] [--in-flight 4] [--body-file PATH]
//   ingest-load-delivery create sqs|kinesis NAME [--shards 2]
//   ingest-load-delivery count  sqs|kinesis NAME [--expect N] [--timeout 60]
//   ingest-load-delivery delete sqs|kinesis NAME
//
// Common options: --endpoint URL (default: the shared stand-ins, http://127.0.0.1:4566 for SQS and
// :4567 for Kinesis, or INGEST_SQS_PORT / INGEST_KINESIS_PORT).
// `send` prints one line `INGEST_DELIVERY sent=N failed=N seconds=S per_second=R` on stdout (what
// was sent during the warm-up is stored too, but not counted);
// `count` prints the number of messages in the queue / records in the stream; exit 0 when it
// reached --expect (or none was given), 1 when it did not before --timeout.
using Ingest.Load.DeliveryBaseline;

try
{
    var command = CommandLine.Parse(args);
    using var cancel = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        cancel.Cancel();
    };
    await using IDeliveryBackend backend = command.Kind == "sqs"
        ? new SqsBackend(command.Endpoint, command.Name)
        : new KinesisBackend(command.Endpoint, command.Name);
    return await command.RunAsync(backend, cancel.Token);
}
catch (UsageException ex)
{
    Console.Error.WriteLine($"ingest-load-delivery: {ex.Message}");
    Console.Error.WriteLine("usage: ingest-load-delivery send|create|count|delete sqs|kinesis NAME [--seconds N] [--warmup N] [--batch N] [--in-flight N] [--shards N] [--expect N] [--timeout S] [--body-file PATH] [--endpoint URL]");
    return 2;
}
