"""Events: one JSON object a line, written whole and read back; other lines are not events."""
import threading

from pipeline import events


def test_an_event_is_one_line_that_reads_back_as_itself():
    text = events.line("cell", index=3, cells=12, note="a\nb ä")
    assert "\n" not in text
    assert events.parse(text) == {"event": "cell", "index": 3, "cells": 12, "note": "a\nb ä"}


def test_lines_that_are_not_events_read_as_none():
    for text in ("Executing Cell 3", "", "{", '{"action": "get", "status": "ok"}', "[1, 2]",
                 '{"event": 3}'):
        assert events.parse(text) is None


def test_a_stream_written_from_many_threads_reads_back_whole(tmp_path):
    stream = events.EventLog(tmp_path / "a.jsonl")

    def write(number):
        for index in range(200):
            stream.emit("command", writer=number, index=index, padding="x" * 300)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stream.emit("outcome", ok=True)
    stream.close()
    found = events.read(tmp_path / "a.jsonl")
    assert len(found) == 801 and events.read(tmp_path / "a.jsonl", "outcome") == [
        {"event": "outcome", "ok": True}]
    for number in range(4):
        assert [e["index"] for e in found if e.get("writer") == number] == list(range(200))


def test_a_partial_last_line_and_a_missing_file_are_no_events(tmp_path):
    path = tmp_path / "b.jsonl"
    assert events.read(path) == [] and events.last(path, "outcome") is None
    path.write_text(events.line("outcome", ok=False) + "\n" + '{"event": "outc')
    assert events.last(path, "outcome") == {"event": "outcome", "ok": False}
