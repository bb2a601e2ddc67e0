"""The live-inbox push (messaging/realtime.py): events in order, each with the organization's next sequence number."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer

from messaging import realtime
from whatsapp_hub import settings as project_settings


def test_each_push_numbers_its_events_after_the_previous_ones(org, other_org):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(realtime.org_group(org.pk), channel)

    realtime.publish(org.pk, [("message.created", {"n": 1}, [7]), ("conversation.updated", {"n": 2}, [8])])
    realtime.publish(other_org.pk, [("message.created", {"n": 0}, [])])
    realtime.publish(
        org.pk, [("message.updated", {"n": 3}, []), ("message.updated", {"n": 4}, []), ("x.y", {"n": 5}, [9])]
    )

    async def receive(count: int) -> list[dict]:  # one event loop: channels-redis buffers per loop
        return [await layer.receive(channel) for _ in range(count)]

    pushes = async_to_sync(receive)(2)  # one layer message per push
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
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(realtime.org_group(org.pk), channel)

    realtime.publish(org.pk, [("message.updated", {"n": n}, []) for n in range(5)])

    async def receive(count: int) -> list[dict]:
        return [await layer.receive(channel) for _ in range(count)]

    pushes = async_to_sync(receive)(3)
    assert sorted(len(push["events"]) for push in pushes) == [1, 2, 2]
    assert sorted(event["seq"] for push in pushes for event in push["events"]) == [1, 2, 3, 4, 5]


def test_the_channel_layer_s_reads_outlast_its_blocking_pops(settings):
    """redis-py's default 5 s read timeout equals channels-redis' blocking pop: under load a socket's receive timed
    out and the socket closed with 1011. The hub's Redis channel layer reads for longer."""
    assert RedisChannelLayer.brpop_timeout < project_settings.CHANNEL_LAYER_SOCKET_TIMEOUT
    if settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer":
        [host] = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]
        assert host["socket_timeout"] == project_settings.CHANNEL_LAYER_SOCKET_TIMEOUT
