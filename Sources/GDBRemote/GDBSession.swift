/// One gdb connection: frames in, acknowledgements and replies out. What each request
/// does is in `GDBSession+Dispatch.swift`.
///
/// Ack mode (the default) answers each good packet with `+` and a bad one with `-`, and
/// resends the last reply when gdb answers `-`; after `QStartNoAckMode` neither side
/// acknowledges, so a bad packet gets an error reply instead (`PacketDecoder.noAckMode`).
final class GDBSession {
  /// Why a session ended, for the log.
  enum End: CustomStringConvertible {
    case killed
    case detached
    case disconnected

    var description: String {
      switch self {
      case .killed: "gdb killed the target"
      case .detached: "gdb detached"
      case .disconnected: "gdb disconnected"
      }
    }
  }

  /// What a request asks of the loop besides its replies.
  struct Outcome {
    var replies: [GDBReply]
    var end: End? = nil
  }

  let target: any DebugTarget
  let connection: ClientConnection
  let log: @Sendable (String) -> Void
  /// Largest packet we accept, advertised as `PacketSize`; gdb also sizes its `m`
  /// requests and reply buffers from it.
  static let packetSize = 0x4000

  var decoder = PacketDecoder(maximumPacketSize: packetSize)
  /// Frames decoded but not handled yet: several packets can arrive in one read, and
  /// the interrupt watcher hands back what it read during a resume.
  var pending: [PacketDecoder.Frame] = []
  /// The last reply sent, resent when gdb answers it with `-` in ack mode.
  private var lastSent: [UInt8] = []
  /// The `Hg` thread; nil (gdb's 0 or -1) means the thread of the current stop.
  var registerThread: ThreadID?
  let files = HostFiles(maximumRead: packetSize)

  init(target: any DebugTarget, connection: ClientConnection, log: @escaping @Sendable (String) -> Void) {
    self.target = target
    self.connection = connection
    self.log = log
  }

  func run() -> End {
    while let frame = nextFrame() {
      switch frame {
      case .packet(let payload):
        if let ack = decoder.acknowledgement(for: frame), !connection.send([ack]) { return .disconnected }
        let outcome = handle(payload)
        for reply in outcome.replies where !send(reply) { return .disconnected }
        if let end = outcome.end { return end }
      case .malformed(let reason):
        log("gdb sent a packet that cannot be used: \(reason)")
        if let nack = decoder.acknowledgement(for: frame) {
          if !connection.send([nack]) { return .disconnected }
        } else if !send(.error(1)) {
          return .disconnected
        }
      case .nack:
        if !lastSent.isEmpty && !connection.send(lastSent) { return .disconnected }
      case .ack, .interrupt:
        // A ^C between packets finds the target already stopped; gdbserver ignores it too.
        break
      }
    }
    return .disconnected
  }

  /// Parses and dispatches one packet. A malformed request is answered and logged,
  /// and the session goes on.
  private func handle(_ payload: [UInt8]) -> Outcome {
    let request: GDBRequest
    do {
      request = try GDBRequest(parsing: payload)
    } catch {
      log("gdb sent a \(error)")
      return Outcome(replies: [.error(1)])
    }
    let outcome = dispatch(request)
    // The `+` for this packet is already out; from gdb's next packet on, nobody acks.
    if request == .startNoAckMode { decoder.noAckMode = true }
    return outcome
  }

  private func send(_ reply: GDBReply) -> Bool {
    lastSent = PacketEncoder.encode(reply.payload)
    return connection.send(lastSent)
  }

  /// The next frame gdb sent, or nil once it disconnected.
  func nextFrame() -> PacketDecoder.Frame? {
    while pending.isEmpty {
      guard let bytes = connection.receive() else { return nil }
      pending = decoder.feed(bytes)
    }
    return pending.removeFirst()
  }
}
