import Foundation
import Glibc
import Testing

@testable import GDBRemote

/// Lines the server logged, readable from the test while the server thread writes.
final class LogRecorder: @unchecked Sendable {
  private let condition = NSCondition()
  private var recorded: [String] = []

  var lines: [String] { condition.withLock { recorded } }

  func record(_ line: String) {
    condition.withLock {
      recorded.append(line)
      condition.broadcast()
    }
  }

  /// Waits until a line containing `text` is logged; false after `timeout` seconds.
  func waitForLine(containing text: String, timeout: TimeInterval = 5) -> Bool {
    let deadline = Date(timeIntervalSinceNow: timeout)
    condition.lock()
    defer { condition.unlock() }
    while !recorded.contains(where: { $0.contains(text) }) {
      if !condition.wait(until: deadline) { return false }
    }
    return true
  }
}

/// A `GDBServer` on an ephemeral loopback port, serving on its own thread as it will
/// in `rewind`.
final class RunningServer: @unchecked Sendable {
  let server: GDBServer
  let log = LogRecorder()
  private let done = DispatchSemaphore(value: 0)
  private(set) var error: (any Error)?

  init(target: any DebugTarget) throws {
    let log = self.log
    server = try GDBServer(target: target, port: 0, log: { log.record($0) })
    let thread = Thread { [self] in
      do { try server.serve() } catch { self.error = error }
      done.signal()
    }
    thread.start()
  }

  var port: UInt16 { server.port }

  /// True once `serve()` returned, within `timeout` seconds.
  func waitUntilServed(timeout: TimeInterval = 5) -> Bool {
    done.wait(timeout: .now() + timeout) == .success
  }
}

/// gdb's side of the wire, byte for byte: frames packets, checks what comes back.
final class TestClient {
  struct Timeout: Error, CustomStringConvertible {
    let waitingFor: String
    var description: String { "no \(waitingFor) from the server within the timeout" }
  }

  let descriptor: CInt
  private var decoder = PacketDecoder()
  private var frames: [PacketDecoder.Frame] = []
  /// After `QStartNoAckMode`: neither side sends `+` any more.
  var noAckMode = false

  init(port: UInt16) throws {
    descriptor = socket(AF_INET, CInt(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let status = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard status == 0 else { throw GDBServerError("connect: \(String(cString: strerror(errno)))") }
  }

  private var isOpen = true

  deinit { disconnect() }

  /// Closes the connection as gdb does when it quits without a word.
  func disconnect() {
    guard isOpen else { return }
    isOpen = false
    close(descriptor)
  }

  func send(raw bytes: [UInt8]) {
    let sent = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, CInt(MSG_NOSIGNAL)) }
    precondition(sent == bytes.count, "test client send failed")
  }

  func send(packet payload: String) {
    send(raw: PacketEncoder.encode(payload))
  }

  /// The next frame from the server, waiting at most `timeout` seconds.
  func nextFrame(timeout: TimeInterval = 5) throws -> PacketDecoder.Frame {
    let deadline = Date(timeIntervalSinceNow: timeout)
    while frames.isEmpty {
      let remaining = max(0, Int32(deadline.timeIntervalSinceNow * 1000))
      var fd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
      guard poll(&fd, 1, remaining) > 0 else { throw Timeout(waitingFor: "reply") }
      var buffer = [UInt8](repeating: 0, count: 65536)
      let count = recv(descriptor, &buffer, buffer.count, 0)
      guard count > 0 else { throw Timeout(waitingFor: "reply (the server closed the connection)") }
      frames += decoder.feed(buffer[..<count])
    }
    return frames.removeFirst()
  }

  /// The next reply packet's payload, acked as gdb does in ack mode.
  func replyBytes(timeout: TimeInterval = 5) throws -> [UInt8] {
    let frame = try nextFrame(timeout: timeout)
    guard case .packet(let payload) = frame else {
      throw GDBServerError("expected a reply packet, got \(frame)")
    }
    if !noAckMode { send(raw: Array("+".utf8)) }
    return payload
  }

  func reply(timeout: TimeInterval = 5) throws -> String {
    String(decoding: try replyBytes(timeout: timeout), as: UTF8.self)
  }

  /// Sends `payload` and returns the reply, checking the server's `+` in ack mode.
  func requestBytes(_ payload: String) throws -> [UInt8] {
    send(packet: payload)
    if !noAckMode {
      let ack = try nextFrame()
      guard ack == .ack else { throw GDBServerError("expected '+' for \(payload), got \(ack)") }
    }
    return try replyBytes()
  }

  func request(_ payload: String) throws -> String {
    String(decoding: try requestBytes(payload), as: UTF8.self)
  }

  /// True when the server closes the connection within `timeout` seconds (and sends
  /// nothing more meanwhile).
  func isClosedByServer(timeout: TimeInterval = 5) -> Bool {
    var fd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
    guard frames.isEmpty, poll(&fd, 1, Int32(timeout * 1000)) > 0 else { return false }
    var byte: UInt8 = 0
    return recv(descriptor, &byte, 1, 0) == 0
  }
}
