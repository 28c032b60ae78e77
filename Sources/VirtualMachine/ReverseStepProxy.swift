import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Sits between gdb and QEMU's gdb stub and keeps reverse-stepi short wherever gdb stops.
///
/// QEMU steps back by loading the nearest snapshot before the target and replaying forwards
/// from it, so a reverse-stepi costs the distance to that snapshot: seconds late in a boot.
/// When gdb asks for a reverse step (`bs`) further than `threshold` instructions from the
/// nearest snapshot, the proxy first, through the monitor, seeks to `nearDistance`
/// instructions before the current place, saves a snapshot there, and seeks back; QEMU's
/// reverse steps from there replay only that distance. Everything else passes through.
///
/// Packets are acknowledged by the proxy on each side (QEMU 7.2's stub has no no-ack mode and
/// does not wait for acknowledgements): gdb gets its `+` at once, even while the proxy seeks
/// (gdb resends a packet not acknowledged within its 2-second timeout), and the stop replies
/// QEMU's stub sends when the monitor stops the machine are dropped.
public final class ReverseStepProxy: @unchecked Sendable {
  public let port: Int
  private let listener: Int32
  private let qemuPort: Int
  private let monitor: QMPClient
  private let process: QEMUProcess
  private var snapshots: [UInt64]
  private let threshold: UInt64
  private let nearDistance: UInt64
  private var thread: Thread?
  /// The recording's last instruction count: a forward `continue` stops there (through a
  /// monitor `replay-break`) rather than running into the guest's poweroff, after which QEMU
  /// exits and there is nothing left to go back from. QEMU's own reverse commands replace
  /// that break, so it is set again before each forward continue.
  private let endInstruction: UInt64?
  /// Snapshots the proxy saved, for the session's summary.
  public private(set) var savedSnapshots = 0

  public init(
    qemuPort: Int, monitor: QMPClient, process: QEMUProcess, snapshots: [UInt64], endInstruction: UInt64?, threshold: UInt64 = 4_000_000,
    nearDistance: UInt64 = 1_000_000
  ) throws {
    self.endInstruction = endInstruction
    self.qemuPort = qemuPort
    self.monitor = monitor
    self.process = process
    self.snapshots = snapshots
    self.threshold = threshold
    self.nearDistance = nearDistance
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw VMError(.failed, "socket: \(String(cString: strerror(errno)))") }
    var reuse: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
        bind(fd, pointer, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, pointer, &length) == 0
      }
    }
    guard ok else {
      close(fd)
      throw VMError(.failed, "cannot listen for gdb on 127.0.0.1: \(String(cString: strerror(errno)))")
    }
    listener = fd
    port = Int(UInt16(bigEndian: address.sin_port))
  }

  deinit { close(listener) }

  /// Serves one gdb connection on a thread of its own, until either side closes.
  public func start() {
    let thread = Thread { [self] in serve() }
    thread.stackSize = 1 << 20
    self.thread = thread
    thread.start()
  }

  private func serve() {
    let gdb = accept(listener, nil, nil)
    guard gdb >= 0 else { return }
    defer { close(gdb) }
    guard let stub = try? GDBStubClient.connectSocket(port: qemuPort, timeout: 10) else { return }
    defer { close(stub) }
    var fromGDB: [UInt8] = []
    var fromStub: [UInt8] = []
    var fds = [pollfd(fd: gdb, events: Int16(POLLIN), revents: 0), pollfd(fd: stub, events: Int16(POLLIN), revents: 0)]
    while true {
      if poll(&fds, 2, 1000) < 0 && errno != EINTR { return }
      if fds[0].revents != 0 {
        guard let bytes = readSome(gdb) else { return }
        fromGDB += bytes
        while let (packet, consumed) = Self.nextItem(fromGDB) {
          fromGDB.removeFirst(consumed)
          if packet.first == UInt8(ascii: "$") {
            writeAll(gdb, [UInt8(ascii: "+")])
            let payload = Self.payload(packet)
            if payload == "bs" { prepareReverseStep(stub: stub) }
            if Self.isForwardContinue(payload) { stopAtTheEnd() }
            writeAll(stub, packet)
          } else if packet == [0x03] {
            writeAll(stub, packet)
          }  // acknowledgements end here
        }
      }
      if fds[1].revents != 0 {
        guard let bytes = readSome(stub) else { return }
        fromStub += bytes
        while let (packet, consumed) = Self.nextItem(fromStub) {
          fromStub.removeFirst(consumed)
          if packet.first == UInt8(ascii: "$") { writeAll(gdb, packet) }
        }
      }
    }
  }

  /// `c`, `cADDR`, or a `vCont` whose action for some thread is `c`.
  static func isForwardContinue(_ payload: String) -> Bool {
    if payload.hasPrefix("c") { return true }
    guard payload.hasPrefix("vCont;") else { return false }
    return payload.dropFirst(6).split(separator: ";").contains { $0.hasPrefix("c") }
  }

  private func stopAtTheEnd() {
    guard let endInstruction, let here = try? monitor.instructionCount(), here < endInstruction else { return }
    _ = try? monitor.execute("replay-break", ["icount": endInstruction])
  }

  /// Saves a snapshot shortly before the current place when the nearest one is far.
  private func prepareReverseStep(stub: Int32) {
    guard let here = try? monitor.instructionCount(), here > 1 else { return }
    let nearest = snapshots.filter { $0 <= here - 1 }.max() ?? 0
    guard here - 1 - nearest > threshold else { return }
    let target = here - nearDistance
    do {
      try seek(target)
      let answer = try monitor.humanMonitor("savevm rewind-near-\(target)")
      if answer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
        snapshots.append(target)
        savedSnapshots += 1
      }
      try seek(here)
    } catch {
      FileHandle.standardError.write(Data("rewind: could not save a snapshot near instruction \(here): \(error)\n".utf8))
    }
    // The stub reported each stop the monitor made; gdb asked for none of them.
    discardPending(stub)
  }

  /// Runs the replay to `icount` through the monitor (loading a snapshot first if it lies
  /// behind), going on past gdb's breakpoints, which stop the machine on the way.
  private func seek(_ icount: UInt64) throws {
    try monitor.execute("replay-seek", ["icount": icount])
    while true {
      guard process.isRunning else { throw VMError(.failed, "QEMU \(process.endDescription)") }
      guard try monitor.waitForEvent(["STOP"], timeout: 1) != nil else { continue }
      let at = try monitor.instructionCount()
      if at == icount { return }
      if at > icount { throw VMError(.failed, "the replay went past instruction \(icount) to \(at)") }
      try monitor.execute("cont")
    }
  }

  private func discardPending(_ fd: Int32) {
    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    while poll(&poller, 1, 50) > 0 {
      guard readSome(fd) != nil else { return }
    }
  }

  /// The next acknowledgement, interrupt or whole `$...#xx` packet at the start of `buffer`,
  /// and how many bytes it took; nil until a packet is whole.
  static func nextItem(_ buffer: [UInt8]) -> ([UInt8], Int)? {
    guard let first = buffer.first else { return nil }
    if first != UInt8(ascii: "$") { return ([first], 1) }
    var index = 1
    while index < buffer.count {
      if buffer[index] == UInt8(ascii: "}") {
        index += 2
        continue
      }
      if buffer[index] == UInt8(ascii: "#") {
        guard index + 2 < buffer.count else { return nil }
        return (Array(buffer[0...(index + 2)]), index + 3)
      }
      index += 1
    }
    return nil
  }

  static func payload(_ packet: [UInt8]) -> String {
    guard packet.count >= 4 else { return "" }
    return String(decoding: packet[1..<(packet.count - 3)], as: UTF8.self)
  }

  private func readSome(_ fd: Int32) -> [UInt8]? {
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = recv(fd, &chunk, chunk.count, 0)
      if n < 0 && errno == EINTR { continue }
      return n > 0 ? Array(chunk[0..<n]) : nil
    }
  }

  private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var sent = 0
    while sent < bytes.count {
      let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
      if n < 0 {
        if errno == EINTR { continue }
        return
      }
      sent += n
    }
  }
}
