#!/usr/bin/env python3
"""A Cost Core client in Python, built only from stubs that protoc generated from proto/.

Run by test/interop/python.test.ts: it records costs (unary and client-streaming),
reads a summary, sets a budget, watches the alert feed (server-streaming) while it
raises and acknowledges an alert, and provokes INVALID_ARGUMENT errors. It prints
one JSON object on stdout with what it saw, for the test to assert exactly.

Usage: client.py --target 127.0.0.1:PORT --gen-dir DIR --now-ms EPOCH_MS
"""

import argparse
import json
import sys

import grpc

TIMEOUT_S = 15
NANOS_PER_UNIT = 1_000_000_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True, help="host:port of the server")
    parser.add_argument("--gen-dir", required=True, help="folder holding the generated dreamnet/ package")
    parser.add_argument("--now-ms", required=True, type=int, help="the server clock, epoch ms")
    args = parser.parse_args()
    sys.path.insert(0, args.gen_dir)

    # Imported late: the stubs live in a folder the test generated.
    from dreamnet.cost.v1 import alert_pb2, budget_pb2, cost_record_pb2, cost_service_pb2, cost_service_pb2_grpc, money_pb2
    from google.protobuf import timestamp_pb2

    svc = cost_service_pb2
    hour_ms = 3_600_000

    def money(units: int, nanos: int = 0) -> "money_pb2.Money":
        return money_pb2.Money(currency_code="USD", units=units, nanos=nanos)

    def record(record_id: str, cluster: str, cost, at_ms: int, metadata=None) -> "cost_record_pb2.CostRecord":
        ts = timestamp_pb2.Timestamp()
        ts.FromMilliseconds(at_ms)
        rec = cost_record_pb2.CostRecord(
            id=record_id,
            cluster_id=cluster,
            provider="openai",
            operation="chat-completion",
            model="gpt-4",
            cost=cost,
            timestamp=ts,
            trace_id="trace-" + record_id,
        )
        if metadata is not None:
            rec.metadata.update(metadata)
        return rec

    def money_json(m) -> dict:
        return {"currencyCode": m.currency_code, "units": m.units, "nanos": m.nanos}

    result: dict = {}
    with grpc.insecure_channel(args.target) as channel:
        grpc.channel_ready_future(channel).result(timeout=TIMEOUT_S)
        stub = cost_service_pb2_grpc.CostServiceStub(channel)
        cluster = "PYTHON"

        # RecordCost, twice with the same id: new, then a duplicate.
        first = record("py-unary-1", cluster, money(0, 2_000_000), args.now_ms - hour_ms, {"tokens": 1000, "client": "python"})
        outcomes = [stub.RecordCost(svc.RecordCostRequest(record=first), timeout=TIMEOUT_S).outcome for _ in range(2)]
        result["recordCost"] = [svc.RecordOutcome.Name(o) for o in outcomes]

        # RecordCosts: a client stream of three messages of 100 records (0.0125 USD each),
        # one invalid record and a re-sent one.
        def messages():
            for m in range(3):
                batch = [
                    record(f"py-stream-{m}-{i}", cluster, money(0, 12_500_000), args.now_ms - (m * 100 + i) * 60_000)
                    for i in range(100)
                ]
                if m == 1:
                    batch.append(record("py-bad-nanos", cluster, money(1, -5), args.now_ms))
                if m == 2:
                    batch.append(first)
                yield svc.RecordCostsRequest(records=batch)

        streamed = stub.RecordCosts(messages(), timeout=TIMEOUT_S)
        result["recordCosts"] = {
            "acceptedCount": streamed.accepted_count,
            "duplicateCount": streamed.duplicate_count,
            "rejectedCount": streamed.rejected_count,
            "rejected": [
                {"index": r.index, "id": r.id, "field": r.field, "message": r.message, "reason": svc.RejectionReason.Name(r.reason)}
                for r in streamed.rejected
            ],
        }

        # GetCostSummary: exact Money, int64 counts.
        summary = stub.GetCostSummary(svc.GetCostSummaryRequest(cluster_id=cluster), timeout=TIMEOUT_S).summary
        result["summary"] = {
            "clusterId": summary.cluster_id,
            "recordCount": summary.record_count,
            "currencies": [
                {
                    "currencyCode": c.currency_code,
                    "totalCost": money_json(c.total_cost),
                    "costToday": money_json(c.cost_today),
                    "recordCount": c.record_count,
                    "recordCountToday": c.record_count_today,
                }
                for c in summary.currencies
            ],
        }

        # A weekly budget of 5 USD with a 50 % threshold, then the feed while spend crosses it.
        alerts_cluster = "PYTHON_ALERTS"
        budget = budget_pb2.CostBudget(
            id="py-weekly",
            cluster_id=alerts_cluster,
            amount=money(5),
            period=budget_pb2.BUDGET_PERIOD_WEEKLY,
            alert_thresholds=[50],
            time_zone="UTC",
        )
        set_response = stub.SetBudget(svc.SetBudgetRequest(budget=budget), timeout=TIMEOUT_S)
        result["setBudget"] = {"created": set_response.created, "id": set_response.budget.id}

        watch = stub.WatchAlerts(svc.WatchAlertsRequest(cluster_id=alerts_cluster), timeout=TIMEOUT_S)
        # The first heartbeat proves the watcher is in the feed: whatever happens next reaches it.
        opening = next(watch)
        seen = {"first": opening.WhichOneof("message"), "events": []}

        def next_event():
            for message in watch:
                if message.WhichOneof("message") == "event":
                    return message.event
            raise RuntimeError("WatchAlerts ended before the expected event")

        spend = record("py-alert-1", alerts_cluster, money(3), args.now_ms - hour_ms)
        stub.RecordCost(svc.RecordCostRequest(record=spend), timeout=TIMEOUT_S)
        triggered = next_event()
        ack = stub.AcknowledgeAlert(svc.AcknowledgeAlertRequest(alert_id=triggered.alert.id, note="seen from Python"), timeout=TIMEOUT_S)
        acknowledged = next_event()
        watch.cancel()
        for event in (triggered, acknowledged):
            alert = event.alert
            seen["events"].append(
                {
                    "type": alert_pb2.AlertEventType.Name(event.type),
                    "kind": alert_pb2.AlertKind.Name(alert.kind),
                    "clusterId": alert.cluster_id,
                    "budgetId": alert.budget_id,
                    "thresholdPercent": alert.threshold_percent,
                    "threshold": money_json(alert.threshold),
                    "currentCost": money_json(alert.current_cost),
                    "percent": alert.percent,
                    "period": budget_pb2.BudgetPeriod.Name(alert.period),
                    "acknowledged": alert.acknowledged,
                    "acknowledgedBy": alert.acknowledged_by,
                    "acknowledgeNote": alert.acknowledge_note,
                }
            )
        seen["sameAlert"] = triggered.alert.id == acknowledged.alert.id and triggered.alert.id != ""
        seen["newCursor"] = acknowledged.cursor != triggered.cursor
        seen["newlyAcknowledged"] = ack.newly_acknowledged
        result["watchAlerts"] = seen

        # Errors: the status code and the details exactly as Python's gRPC shows them.
        errors = []
        for bad in (
            record("py-bad-cluster", "bad id=1", money(0, 2_000_000), args.now_ms),
            record("py-future", cluster, money(0, 2_000_000), args.now_ms + 10 * 60_000),
            record("py-big-nanos", cluster, money(0, NANOS_PER_UNIT), args.now_ms),
        ):
            try:
                stub.RecordCost(svc.RecordCostRequest(record=bad), timeout=TIMEOUT_S)
                errors.append({"id": bad.id, "code": "OK", "details": ""})
            except grpc.RpcError as error:
                errors.append({"id": bad.id, "code": error.code().name, "details": error.details()})
        result["errors"] = errors

    json.dump(result, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
