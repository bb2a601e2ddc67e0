// The live inbox socket (/ws/inbox/): connects, keeps itself alive, reconnects with backoff, and notices the
// events it missed. The server numbers its pushes per organization (`seq`; a frame may carry several, from
// `first_seq`): a frame that does not follow the last one seen, or a new connection, means events were lost
// (the channel layer is at-most-once), and the page catches up over REST.

const PING_EVERY = 25000;
const PONG_WITHIN = 10000;
const BACKOFF_MAX = 30000;
const INBOX_EVENTS = ["message.created", "message.updated", "conversation.updated"];
const REPLIES = new Set(["message.sent", "error"]);
// Frames for this socket's person alone (messaging.realtime.member_send): no sequence number.
const MEMBER_FRAMES = new Set(["notification.created", "notification.count"]);

export class LiveSocket {
  /**
   * handlers: event(type, data) for pushes of the `events` types (the inbox's by default: other pushes only count
   * in the sequence); reply(frame) for message.sent and error frames; hello({first}) on each connection; gap() when
   * pushes were missed; state("connecting" | "open" | "down"); ended(code, reason) when the server refuses the
   * socket for good (4401 not signed in, 4403 deactivated or suspended); member(frame) for the frames of this
   * person alone (notification.created, notification.count).
   */
  constructor(path, handlers, { events = INBOX_EVENTS } = {}) {
    this.path = path;
    this.handlers = handlers;
    this.events = new Set(events);
    this.socket = null;
    this.lastSeq = null;
    this.attempt = 0;
    this.connections = 0;
    this.wasDown = false;
    this.ended = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    // Offline, an open socket may linger for minutes before the pings notice: let it go now, and come back online.
    window.addEventListener("offline", () => this.socket?.close());
    window.addEventListener("online", () => this.reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.reconnectNow();
    });
  }

  get isOpen() {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  connect() {
    if (this.ended) return;
    clearTimeout(this.retryTimer);
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${window.location.host}${this.path}`);
    this.socket = socket;
    // Only the very first attempt is quiet: any later one means the socket is down.
    if (!this.wasDown) this.handlers.state("connecting");
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.startPings();
    });
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", (event) => this.closed(socket, event));
  }

  /** Sends a frame; false when the socket is not open (the caller falls back to REST). */
  send(frame) {
    if (!this.isOpen) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  reconnectNow() {
    if (this.ended || this.socket?.readyState === WebSocket.OPEN || this.socket?.readyState === WebSocket.CONNECTING) return;
    this.attempt = 0;
    this.connect();
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    this.handle(frame);
  }

  handle(frame) {
    if (frame.type === "events") {
      // Several events of one push in one frame, in order.
      for (const inner of frame.events || []) this.handle(inner);
      return;
    }
    if (frame.type === "pong") {
      clearTimeout(this.pongTimer);
      return;
    }
    if (frame.type === "hello") {
      const first = this.connections === 0;
      this.connections += 1;
      // A new connection starts counting again from the organization's current number.
      this.lastSeq = Number.isFinite(Number(frame.seq)) ? Number(frame.seq) : null;
      this.handlers.state("open");
      this.handlers.hello({ first });
      return;
    }
    if (REPLIES.has(frame.type)) {
      this.handlers.reply?.(frame);
      return;
    }
    if (MEMBER_FRAMES.has(frame.type)) {
      this.handlers.member?.(frame);
      return;
    }
    if (frame.seq === undefined) return;
    // A push: of a type this page shows, or not (it still counts, or the next would look like a gap).
    const seq = Number(frame.seq);
    const firstSeq = Number(frame.first_seq ?? frame.seq);
    const gap = this.lastSeq !== null && Number.isFinite(firstSeq) && firstSeq > this.lastSeq + 1;
    if (Number.isFinite(seq)) this.lastSeq = Math.max(this.lastSeq ?? 0, seq);
    if (this.events.has(frame.type)) this.handlers.event(frame.type, frame.data || {});
    if (gap) this.handlers.gap();
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.stopPings();
    if (event.code === 4401 || event.code === 4403) {
      this.ended = true;
      this.handlers.ended(event.code, event.reason);
      return;
    }
    this.wasDown = true;
    this.handlers.state("down");
    const delay = Math.min(BACKOFF_MAX, 1000 * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), this.attempt === 1 ? 300 : delay);
  }

  startPings() {
    this.stopPings();
    this.pingTimer = setInterval(() => {
      if (!this.send({ type: "ping" })) return;
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => this.socket?.close(), PONG_WITHIN);
    }, PING_EVERY);
  }

  stopPings() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }
}
