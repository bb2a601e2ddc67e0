"""The live-inbox push (messaging/realtime.py): events in order, each with the organization's next sequence number."""

from messaging import realtime
from tests.messaging.inbox_support import inbox_pushes


def test_each_push_numbers_its_events_after_the_previous_ones(org, other_org):
    receive = inbox_pushes(org.pk)

    realtime.publish(org.pk, [("message.created", {"n": 1}, [7]), ("conversation.updated", {"n": 2}, [8])])
    realtime.publish(other_org.pk, [("message.created", {"n": 0}, [])])
    realtime.publish(
        org.pk, [("message.updated", {"n": 3}, []), ("message.updated", {"n": 4}, []), ("x.y", {"n": 5}, [9])]
    )

    pushes = receive(2)  # one layer message per push
    assert {push["type"] for push in pushes} == {"inbox.events"}
    events = sorted((event for push in pushes for event in push["events"]), key=lambda event: event["seq"])
    assert [(event["seq"], event["event"], event["data"]["n"], event["number_ids"]) for event in events] == [
        (1, "message.created", 1, [7]),
        (2, "conversation.updated", 2, [8]),
        (3, "message.updated", 3, []),
        (4, "message.updated", 4, []),
        (5, "x.y", 5, [9]),
    ]


def test_a_big_push_travels_in_bounded_layer_messages(org, monkeypatch):
    monkeypatch.setattr(realtime, "EVENTS_PER_LAYER_MESSAGE", 2)
    receive = inbox_pushes(org.pk)

    realtime.publish(org.pk, [("message.updated", {"n": n}, []) for n in range(5)])

    pushes = receive(3)
    assert sorted(len(push["events"]) for push in pushes) == [1, 2, 2]
    assert sorted(event["seq"] for push in pushes for event in push["events"]) == [1, 2, 3, 4, 5]
