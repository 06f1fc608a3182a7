"""Several processes training one model: which process this is, who writes and prints, and stopping together.

A job is described by the variables the backends' engines read: KERAS_DISTRIBUTION_JOB_ADDRESSES,
KERAS_DISTRIBUTION_NUM_PROCESSES and KERAS_DISTRIBUTION_PROCESS_ID on JAX, TF_CONFIG on TensorFlow.
Process 0 writes every file and prints the progress; the others print nothing but errors.

The engines notice a dead peer only after a heartbeat timeout of a minute or more, and then end in
pages of C++ logs (JAX aborts the process). So the processes also watch each other: every process
keeps a plain TCP connection to process 0, on the port after the highest port the job's variables
name (the one after the coordinator's on JAX), and says "ok" or
"fail CODE" when it ends. A connection that closes without either (a process killed, its host
gone) or a failure reported stops every process with one line on stderr and the same exit status.
Nothing here imports Keras.
"""

import json
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass

from rnn_draw.library import UserError

HEARTBEAT_SECONDS = 5
SILENT_SECONDS = 60  # a peer that has said nothing for this long (its host gone) counts as stopped
CONNECT_SECONDS = 300  # how long the processes wait for each other at the start, as the engines do
PEER_NEWS_SECONDS = 1  # how long a failing process waits for news of a dead peer (a closed socket is seen at once)

JAX_VARIABLES = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES", "KERAS_DISTRIBUTION_PROCESS_ID")


@dataclass(frozen=True)
class Job:
    """This process's place in a multi-process job: `index` of `count`, and where process 0 listens
    for the others (`host`, `watch_port`); `coordinator` is the engine's own address of process 0."""

    index: int
    count: int
    coordinator: str
    watch_port: int

    @property
    def host(self):
        return self.coordinator.rsplit(":", 1)[0]

    @property
    def writer(self):
        return self.index == 0


def job_from_environment(backend):
    """The job that the backend's variables describe, or None for a process on its own."""
    try:
        if backend == "tensorflow" and os.environ.get("TF_CONFIG"):
            config = json.loads(os.environ["TF_CONFIG"])
            addresses, index = config["cluster"]["worker"], int(config["task"]["index"])
            count = len(addresses)
        elif backend == "jax" and os.environ.get(JAX_VARIABLES[0]):
            addresses = os.environ[JAX_VARIABLES[0]].split(",")[:1]  # JAX needs only the coordinator's
            count, index = int(os.environ.get(JAX_VARIABLES[1], "0")), int(os.environ.get(JAX_VARIABLES[2], "-1"))
        else:
            return None
        address = addresses[0]
        job = Job(index, count, address, max(int(a.rsplit(":", 1)[1]) for a in addresses) + 1)
    except (ValueError, KeyError, TypeError, IndexError) as error:
        names = "TF_CONFIG" if backend == "tensorflow" else ", ".join(JAX_VARIABLES)
        raise UserError(f"{names}: not a job description this can read ({type(error).__name__}: {error})") from None
    if not (job.count >= 1 and 0 <= job.index < job.count and 1 < job.watch_port <= 65535):
        raise UserError(f"process {job.index} of {job.count} at {address}: the index must be from 0 to the count - 1, "
                        "and the port below 65535")
    return job if job.count > 1 else None


class Watch:
    """The processes of a job watching each other (see the module's docstring). `finish(code)` says
    how this process ends; a peer that fails or vanishes ends this process with one line."""

    def __init__(self, job, program):
        self.job, self.program = job, program
        self.peers = {}  # index -> socket: every other process for process 0, process 0 for the others
        self.done = set()  # peers that said how they ended
        self.lock = threading.Lock()
        self.ending = False

    def start(self):
        address = (self.job.host, self.job.watch_port)
        if self.job.writer:
            listener = socket.create_server(("", address[1]))
            listener.settimeout(CONNECT_SECONDS)
            threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        else:
            self._add(0, self._connect(address))
            self._send(0, f"hello {self.job.index}")
        threading.Thread(target=self._beat, daemon=True).start()
        return self

    def settle(self):
        """Before this process reports a failure: give the listeners a moment to learn of a dead peer.
        A killed peer's all-reduce connection breaks as its watch connection closes, and the engine's
        error ("connection reset") can reach this thread first; the listener then ends the process
        with the line that says what happened."""
        time.sleep(PEER_NEWS_SECONDS)

    def finish(self, code):
        """Tell the others how this process ends: "ok", or "fail CODE" (they then stop too)."""
        with self.lock:
            self.ending = True
            peers = list(self.peers)
        for index in peers:
            self._send(index, "ok" if code == 0 else f"fail {code}")

    def _connect(self, address):
        deadline = time.monotonic() + CONNECT_SECONDS
        while True:
            try:
                return socket.create_connection(address, timeout=10)
            except OSError as error:
                if time.monotonic() > deadline:
                    raise UserError(f"process 0 of this job is not answering at {address[0]}:{address[1]} "
                                    f"({error.strerror or error}); is it running?") from None
                time.sleep(0.5)

    def _accept(self, listener):
        try:
            while len(self.peers) < self.job.count - 1:
                connection, _ = listener.accept()
                connection.settimeout(SILENT_SECONDS)  # for the hello too
                reader = connection.makefile()
                hello = reader.readline().split()
                if len(hello) == 2 and hello[0] == "hello" and hello[1].isdigit():
                    self._add(int(hello[1]), connection, reader)
        except OSError:
            self._stop(f"not every process of the {self.job.count} joined within {CONNECT_SECONDS} s", 1)

    def _add(self, index, connection, reader=None):
        connection.settimeout(SILENT_SECONDS)  # reading: silence this long means the peer is gone
        with self.lock:
            self.peers[index] = connection
        threading.Thread(target=self._listen, args=(index, reader or connection.makefile()), daemon=True).start()

    def _listen(self, index, reader):
        who = f"process {index} of {self.job.count}"
        try:
            for line in reader:
                word, *rest = line.split() or [""]
                if word == "ok":
                    self.done.add(index)
                    return
                if word == "fail":
                    self.done.add(index)
                    code = int(rest[0]) if rest and rest[0].isdigit() else 1
                    return self._stop(f"{who} failed (exit {code})", code)
        except OSError:
            pass  # silent too long, or reset: the same as a close
        if index not in self.done:
            self._stop(f"{who} stopped without finishing (killed, or its host is unreachable)", 1)

    def _beat(self):
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            for index in list(self.peers):
                self._send(index, "beat")

    def _send(self, index, word):
        try:
            self.peers[index].sendall(f"{word}\n".encode())
        except (OSError, KeyError):
            pass  # that peer's listener reports it

    def _stop(self, reason, code):
        with self.lock:
            if self.ending:
                return
            self.ending = True
        if self.job.writer:  # pass the news on to the others
            for index in self.peers:
                self._send(index, f"fail {code}")
        sys.stdout.flush()
        print(f"{self.program}: error: {reason}; stopping process {self.job.index} too", file=sys.stderr, flush=True)
        os._exit(code)


def join(job, program):
    """Start watching the job's other processes, and silence this one's stdout unless it is process 0.
    Returns the Watch, whose `finish` the caller must run with the exit status."""
    watch = Watch(job, program).start()
    if not job.writer:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (for the life of the process)
    return watch
