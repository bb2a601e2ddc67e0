// The live sockets (/ws/inbox/, /ws/embed/): connect, keep alive, reconnect with backoff, and notice the events
// missed. The server numbers its pushes per organization (`seq`; a frame may carry several, from `first_seq`): a
// frame that does not follow the last one seen, or a new connection, means events were lost (the channel layer is
// at-most-once), and the page catches up over REST.
//
// A page holds one websocket per address: every LiveSocket of the same path (the page's own script and the
// notification bell, both on /ws/inbox/) is a subscriber of one shared connection, with its own handlers, its own
// event types and its own idea of "first connection". The connection counts the sequence numbers (the same stream
// reaches every subscriber), reconnects for all, and tells each of them hello, gap, state and the end.

const PING_EVERY = 25000;
const PONG_WITHIN = 10000;
const BACKOFF_MAX = 30000;
const INBOX_EVENTS = ["message.created", "message.updated", "conversation.updated"];
const REPLIES = new Set(["message.sent", "error"]);
// Frames for this socket's person alone (messaging.realtime.member_send): no sequence number.
const MEMBER_FRAMES = new Set(["notification.created", "notification.count"]);
// Client frames that put a conversation in (or out of) the socket's focus, which the server keeps per socket.
const FOCUS_FRAMES = new Set(["conversation.join", "conversation.leave"]);

const connections = new Map(); // path -> its shared Connection

/** One subscriber's handler, called so that an exception in one page part does not stop the others. */
function call(subscriber, name, ...args) {
  try {
    return subscriber.handlers[name]?.(...args);
  } catch (error) {
    reportError(error);
    return undefined;
  }
}

export class LiveSocket {
  /**
   * handlers (each optional): event(type, data) for pushes of the `events` types (the inbox's by default: other
   * pushes only count in the sequence); reply(frame) for message.sent and error frames (those answering a frame this
   * subscriber sent with a client_id; those of no known client_id reach every subscriber); hello({first}) on each
   * connection (`first`: this subscriber's first); gap() when pushes were missed; state("connecting" | "open" |
   * "down"); ended(code, reason) when the server refuses the socket for good (4401 not signed in, 4403 deactivated
   * or suspended); member(frame) for the frames of this person alone (notification.created, notification.count).
   */
  constructor(path, handlers, { events = INBOX_EVENTS } = {}) {
    this.path = path;
    this.handlers = handlers;
    this.events = new Set(events);
    this.connection = null;
    this.connections = 0; // hellos this subscriber was told
  }

  get isOpen() {
    return this.connection?.isOpen ?? false;
  }

  /** Attaches to the page's connection to `path`, opening it when it is the first. */
  connect() {
    if (this.connection) return;
    let connection = connections.get(this.path);
    if (!connection) {
      connection = new Connection(this.path);
      connections.set(this.path, connection);
    }
    this.connection = connection;
    connection.attach(this);
  }

  /** Sends a frame; false when the socket is not open (the caller falls back to REST). */
  send(frame) {
    return this.connection?.send(frame, this) ?? false;
  }

  hello() {
    const first = this.connections === 0;
    this.connections += 1;
    call(this, "state", "open");
    call(this, "hello", { first });
  }
}

class Connection {
  constructor(path) {
    this.path = path;
    this.subscribers = new Set();
    this.socket = null;
    this.started = false;
    this.greeted = false; // the current socket said hello
    this.lastSeq = null;
    this.attempt = 0;
    this.wasDown = false;
    this.ended = null; // {code, reason} once the server refused the socket for good
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.replyTo = new Map(); // client_id -> the subscriber that sent it
    this.focus = new Map(); // conversation id -> the subscribers that have it in focus
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

  attach(subscriber) {
    this.subscribers.add(subscriber);
    if (!this.started) {
      this.started = true;
      this.connect();
      return;
    }
    // A subscriber that comes later is told where the connection stands, after its page's script has run (as a
    // socket of its own would have told it: never from inside connect()).
    queueMicrotask(() => {
      if (this.ended) call(subscriber, "ended", this.ended.code, this.ended.reason);
      else if (this.greeted) subscriber.hello();
      else call(subscriber, "state", this.wasDown ? "down" : "connecting");
    });
  }

  each(fn) {
    // A copy: a handler may attach another subscriber, which is told by attach() itself.
    for (const subscriber of [...this.subscribers]) fn(subscriber);
  }

  connect() {
    if (this.ended) return;
    clearTimeout(this.retryTimer);
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${window.location.host}${this.path}`);
    this.socket = socket;
    this.greeted = false;
    // Only the very first attempt is quiet: any later one means the socket is down.
    if (!this.wasDown) this.each((subscriber) => call(subscriber, "state", "connecting"));
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.startPings();
    });
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", (event) => this.closed(socket, event));
  }

  send(frame, subscriber) {
    if (!this.isOpen) return false;
    if (FOCUS_FRAMES.has(frame.type) && !this.focusChanges(frame, subscriber)) return true;
    if (typeof frame.client_id === "string") this.replyTo.set(frame.client_id, subscriber);
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  /** Whether a join or leave changes the socket's focus: a conversation stays in it while any subscriber wants it. */
  focusChanges(frame, subscriber) {
    const id = frame.conversation_id;
    const holders = this.focus.get(id) ?? new Set();
    const before = holders.size;
    if (frame.type === "conversation.join") holders.add(subscriber);
    else holders.delete(subscriber);
    if (holders.size) this.focus.set(id, holders);
    else this.focus.delete(id);
    return frame.type === "conversation.join" ? before === 0 : before > 0 && holders.size === 0;
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
      // A new connection starts counting again from the organization's current number; its focus starts empty
      // (each subscriber joins again in its hello).
      this.lastSeq = Number.isFinite(Number(frame.seq)) ? Number(frame.seq) : null;
      this.greeted = true;
      this.focus.clear();
      this.each((subscriber) => subscriber.hello());
      return;
    }
    if (REPLIES.has(frame.type)) {
      const sender = this.replyTo.get(frame.client_id);
      if (sender && this.subscribers.has(sender)) {
        this.replyTo.delete(frame.client_id);
        call(sender, "reply", frame);
      } else {
        this.each((subscriber) => call(subscriber, "reply", frame));
      }
      return;
    }
    if (MEMBER_FRAMES.has(frame.type)) {
      this.each((subscriber) => call(subscriber, "member", frame));
      return;
    }
    if (frame.seq === undefined) return;
    // A push: of a type a subscriber shows, or not (it still counts, or the next would look like a gap).
    const seq = Number(frame.seq);
    const firstSeq = Number(frame.first_seq ?? frame.seq);
    const gap = this.lastSeq !== null && Number.isFinite(firstSeq) && firstSeq > this.lastSeq + 1;
    if (Number.isFinite(seq)) this.lastSeq = Math.max(this.lastSeq ?? 0, seq);
    this.each((subscriber) => {
      if (subscriber.events.has(frame.type)) call(subscriber, "event", frame.type, frame.data || {});
    });
    if (gap) this.each((subscriber) => call(subscriber, "gap"));
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.stopPings();
    this.greeted = false;
    this.replyTo.clear(); // answers of the closed socket never come
    if (event.code === 4401 || event.code === 4403) {
      this.ended = { code: event.code, reason: event.reason };
      this.each((subscriber) => call(subscriber, "ended", event.code, event.reason));
      return;
    }
    this.wasDown = true;
    this.each((subscriber) => call(subscriber, "state", "down"));
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
