"""``budget-service local``: moto in server mode as the embedded AWS, every resource of template.yaml
created in it, the template's functions loaded with their environment, the HTTP API with the JWT
authorizer's checks, the event source mappings, and a queue subscribed to the alert topic."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from budget_service.local.event_sources import (
    EventSourceMapping,
    KinesisSource,
    ScheduledInvoker,
    TableStreamSource,
    mapping_config,
    schedule_seconds,
)
from budget_service.local.functions import LocalFunction, function_environment, function_specs, load_functions
from budget_service.local.http_gateway import LocalHttpApi, template_routes
from budget_service.local.tokens import DEFAULT_STATE_DIR, AuthorizerSettings, TokenVerifier
from budget_service.templates.model import TEMPLATE_PATH, load_template
from budget_service.templates.provision import (
    CreatedResource,
    create_template_resources,
    parameter_values,
    subscribe_queue,
)

REGION = "eu-west-1"
NAME_PREFIX = "budget-local"
# Two queues on the alert topic: one the runner tails and prints, one left for the user (its URL is
# in the ready file), so that reading alerts elsewhere never races the console.
ALERT_SUBSCRIBER_QUEUE = f"{NAME_PREFIX}-alert-subscriber"
ALERT_TAIL_QUEUE = f"{NAME_PREFIX}-alert-tail"


class StackError(Exception):
    """Something the user can fix (a port in use, an unreadable template): a message, no trace."""


@dataclass
class LocalConfig:
    api_port: int = 3000
    aws_port: int = 4566
    ready_file: Path | None = None
    state_dir: Path = DEFAULT_STATE_DIR
    template_path: Path = TEMPLATE_PATH
    region: str = REGION
    verbose: bool = False


@dataclass
class AlertTail:
    """Reads the queue subscribed to the alert topic and hands every alert message on."""

    sqs: Any
    queue_url: str
    listeners: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-tail", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                response = self.sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                )
            except Exception:  # the server is going away, or busy: try again
                self._stop.wait(0.5)
                continue
            for message in response.get("Messages", []):
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                envelope = json.loads(message["Body"])
                alert = json.loads(envelope["Message"])
                self.received.append(alert)
                for listener in self.listeners:
                    listener(alert)


def physical_name(logical_id: str) -> str:
    return f"{NAME_PREFIX}-{re.sub(r'(?<=[a-z0-9])(?=[A-Z])', '-', logical_id).lower()}"


def free_port() -> int:
    """A loopback port nobody listens on now (the demo and the tests start stacks on such ports)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ensure_port_free(port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # as the servers will bind it: a port in TIME_WAIT after a previous run is free to reuse
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise StackError(
                f"port {port} ({what}) is in use on 127.0.0.1; stop what uses it or pick another port "
                f"(--{'api' if what == 'HTTP API' else 'aws'}-port)"
            ) from None


class LocalStack:
    def __init__(self, config: LocalConfig, log: Callable[[str], None] = print) -> None:
        self.config = config
        self.log = log
        self.functions: dict[str, LocalFunction] = {}
        self.mappings: list[EventSourceMapping] = []
        self.schedules: list[ScheduledInvoker] = []
        self.created: dict[str, CreatedResource] = {}
        self.ready: dict[str, Any] = {}
        self._server: Any = None
        self._api: LocalHttpApi | None = None
        self.alert_tail: AlertTail | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.config.aws_port}"

    def start(self) -> dict[str, Any]:
        config = self.config
        ensure_port_free(config.api_port, "HTTP API")
        ensure_port_free(config.aws_port, "embedded AWS")
        try:
            template = load_template(config.template_path)
            specs = function_specs(template)
            routes = template_routes(template)
        except Exception as error:
            raise StackError(f"cannot read the template {config.template_path}: {error}") from None
        if not specs:
            raise StackError(f"{config.template_path} declares no AWS::Serverless::Function")

        from moto.server import ThreadedMotoServer

        from budget_service.emulator.moto_isolation import serialize_dynamodb_operations

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        serialize_dynamodb_operations()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=config.aws_port, verbose=False)
        self._server.start()
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": config.region,
                "AWS_REGION": config.region,
                "AWS_ENDPOINT_URL": self.endpoint,
                # the emulator's, not the template's: botocore's account-id endpoints bypass it
                "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            }
        )
        params = parameter_values(template)
        self.created = create_template_resources(
            physical_name, config.region, self.endpoint, template=template
        )
        sqs = self._client("sqs")
        sns, alert_topic_arn = self._client("sns"), self.created["AlertTopic"].arn
        alert_queue_url = subscribe_queue(sqs, sns, alert_topic_arn, ALERT_SUBSCRIBER_QUEUE)
        tail_queue_url = subscribe_queue(sqs, sns, alert_topic_arn, ALERT_TAIL_QUEUE)

        environment: dict[str, str] = {}
        for spec in specs.values():
            environment.update(function_environment(spec, self.created, params, config.region))
        environment.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "POWERTOOLS_LOG_LEVEL": "INFO" if config.verbose else "ERROR",
                "POWERTOOLS_METRICS_DISABLED": "false" if config.verbose else "true",
                "POWERTOOLS_SERVICE_NAME": "budget-local",
            }
        )
        try:
            self.functions = load_functions(
                template, specs, environment, config.template_path.resolve().parent
            )
        except (ImportError, AttributeError) as error:
            raise StackError(f"cannot load a function's handler: {error}") from None

        verifier = TokenVerifier(config.state_dir, AuthorizerSettings.of(params).audiences)
        self._api = LocalHttpApi(
            routes, self.functions, verifier, config.api_port, self.log if config.verbose else None
        )
        self._api.start()
        self._start_mappings(sqs, params)
        self.alert_tail = AlertTail(sqs, tail_queue_url)
        self.alert_tail.start()

        self.ready = {
            "api_url": self._api.url,
            "aws_endpoint_url": self.endpoint,
            "region": config.region,
            "usage_stream_name": self.created["UsageStream"].name,
            "alert_topic_arn": self.created["AlertTopic"].arn,
            "alert_queue_url": alert_queue_url,
            "table_name": self.created["BudgetTable"].name,
            "event_bus_name": self.created["EventBus"].name,
            "dlq_urls": {
                lid: r.url for lid, r in self.created.items() if r.type == "AWS::SQS::Queue" and r.url
            },
            "state_dir": str(config.state_dir.resolve()),
            "pid": os.getpid(),
        }
        if config.ready_file is not None:
            config.ready_file.parent.mkdir(parents=True, exist_ok=True)
            temporary = config.ready_file.with_suffix(".tmp")
            temporary.write_text(json.dumps(self.ready, indent=2) + "\n", encoding="utf-8")
            temporary.replace(config.ready_file)  # readers never see half a file
        return self.ready

    def stop(self) -> None:
        for mapping in self.mappings:
            mapping.stop()
        for schedule in self.schedules:
            schedule.stop()
        if self.alert_tail is not None:
            self.alert_tail.stop()
        if self._api is not None:
            self._api.stop()
        if self._server is not None:
            self._server.stop()
        if self.config.ready_file is not None:
            self.config.ready_file.unlink(missing_ok=True)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """True once every shard of every mapping has found nothing new, and nothing was read or
        invoked across two looks in a row (one mapping's work can feed another: ingest writes what
        the alert mapping reads)."""
        deadline = time.monotonic() + timeout
        quiet_looks = 0
        last: tuple[int, ...] | None = None
        while time.monotonic() < deadline:
            activity = tuple(n for m in self.mappings for n in (m.stats.records_read, m.stats.invocations))
            if all(m.is_idle() for m in self.mappings) and activity == last:
                quiet_looks += 1
                if quiet_looks >= 2:
                    return True
            else:
                quiet_looks = 0
            last = activity
            time.sleep(0.3)
        return False

    def _client(self, service: Any) -> Any:
        return boto3.client(service, region_name=self.config.region, endpoint_url=self.endpoint)

    def _start_mappings(self, sqs: Any, params: Mapping[str, Any]) -> None:
        queue_urls = {r.arn: str(r.url) for r in self.created.values() if r.type == "AWS::SQS::Queue"}
        for logical_id, function in self.functions.items():
            for event_name, event in function.spec.events.items():
                kind = event.get("Type")
                if kind == "Schedule":
                    every = schedule_seconds(str(event["Properties"]["Schedule"]))
                    schedule = ScheduledInvoker(f"{logical_id}.{event_name}", function, every, self.log)
                    schedule.start()
                    self.schedules.append(schedule)
                if kind not in ("Kinesis", "DynamoDB"):
                    continue
                props = event["Properties"]
                stream_ref = props["Stream"]["Fn::GetAtt"]
                resource = self.created[stream_ref[0]]
                source: KinesisSource | TableStreamSource
                if kind == "Kinesis":
                    source = KinesisSource(
                        self._client("kinesis"), resource.name, resource.arn, self.config.region
                    )
                else:
                    source = TableStreamSource(
                        self._client("dynamodbstreams"), str(resource.stream_arn), self.config.region
                    )
                mapping = EventSourceMapping(
                    f"{logical_id}.{event_name}",
                    source,
                    function,
                    mapping_config(props, self.created, params, self.config.region),
                    sqs,
                    queue_urls,
                    self.log,
                )
                mapping.start()
                self.mappings.append(mapping)
