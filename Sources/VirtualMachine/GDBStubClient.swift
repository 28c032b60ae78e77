import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Just enough of gdb's remote protocol to single-step QEMU's gdb stub and read registers,
/// for `rewind vm log-instructions` (a gdb scripted per instruction would be far slower).
final class GDBStubClient {
  private let fd: Int32
  private var buffer: [UInt8] = []

  init(port: Int, timeout: Double) throws {
    fd = try Self.connectSocket(port: port, timeout: timeout)
  }

  /// A TCP connection to QEMU's gdb stub on 127.0.0.1:`port`, retried until `timeout`.
  static func connectSocket(port: Int, timeout: Double) throws -> Int32 {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
      let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
      guard fd >= 0 else { throw VMError(.failed, "socket: \(String(cString: strerror(errno)))") }
      var address = sockaddr_in()
      address.sin_family = sa_family_t(AF_INET)
      address.sin_addr.s_addr = inet_addr("127.0.0.1")
      address.sin_port = UInt16(port).bigEndian
      let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
      }
      if connected == 0 {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
      }
      close(fd)
      if Date() > deadline { throw VMError(.failed, "QEMU's gdb stub on port \(port) did not accept a connection") }
      usleep(50_000)
    }
  }

  deinit { close(fd) }

  /// Sends a packet and returns the reply's payload.
  func request(_ payload: String) throws -> String {
    let checksum = payload.utf8.reduce(UInt8(0)) { $0 &+ $1 }
    let packet = "$\(payload)#" + String(format: "%02x", checksum)
    try send(Array(packet.utf8))
    while true {
      let byte = try readByte()
      if byte == UInt8(ascii: "+") { continue }
      if byte == UInt8(ascii: "-") { try send(Array(packet.utf8)); continue }
      if byte != UInt8(ascii: "$") { continue }
      var body: [UInt8] = []
      while true {
        let next = try readByte()
        if next == UInt8(ascii: "#") { break }
        body.append(next)
      }
      _ = try readByte()
      _ = try readByte()
      try send([UInt8(ascii: "+")])
      return String(decoding: body, as: UTF8.self)
    }
  }

  private func send(_ bytes: [UInt8]) throws {
    var sent = 0
    while sent < bytes.count {
      let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
      if n < 0 {
        if errno == EINTR { continue }
        throw VMError(.failed, "QEMU's gdb stub connection broke: \(String(cString: strerror(errno)))")
      }
      sent += n
    }
  }

  private func readByte() throws -> UInt8 {
    if buffer.isEmpty {
      var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      guard poll(&poller, 1, 120_000) > 0 else { throw VMError(.failed, "QEMU's gdb stub did not answer in 120 s") }
      var chunk = [UInt8](repeating: 0, count: 65536)
      let n = recv(fd, &chunk, chunk.count, 0)
      guard n > 0 else { throw VMError(.failed, "QEMU's gdb stub closed the connection") }
      buffer = Array(chunk[0..<n])
      buffer.reverse()
    }
    return buffer.removeLast()
  }
}

extension VMReplayer {
  /// The x86-64 registers of QEMU's `g` reply, in its order (gdb's amd64 layout).
  static let registerNames = [
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip",
  ]

  /// `rewind vm log-instructions`: every instruction between two instruction counts, one line
  /// each: the count before it, rip, its bytes, and the registers before it.
  public func logInstructions(from: UInt64, to: UInt64, output: FileHandle, progress: (UInt64) -> Void) throws -> UInt64 {
    try start(stopped: true, gdb: true)
    guard let monitor, let gdbPort else { throw VMError(.failed, "QEMU is not running") }
    try run(toInstruction: from)
    let stub = try GDBStubClient(port: gdbPort, timeout: 30)
    _ = try stub.request("?")
    var lines = 0 as UInt64
    var count = try monitor.instructionCount()
    var text = ""
    var idleSteps = 0
    while count < to {
      let registers = try stub.request("g")
      let bytes = Array(registers.utf8)
      func word(_ index: Int, size: Int) -> UInt64 {
        let start = index * 16
        guard bytes.count >= start + size * 2 else { return 0 }
        var value: UInt64 = 0
        for byte in (0..<size).reversed() {
          let hex = String(decoding: bytes[(start + byte * 2)..<(start + byte * 2 + 2)], as: UTF8.self)
          value = value << 8 | (UInt64(hex, radix: 16) ?? 0)
        }
        return value
      }
      let rip = word(16, size: 8)
      let eflagsStart = 17 * 16
      var eflags: UInt64 = 0
      if bytes.count >= eflagsStart + 8 {
        for byte in (0..<4).reversed() {
          let hex = String(decoding: bytes[(eflagsStart + byte * 2)..<(eflagsStart + byte * 2 + 2)], as: UTF8.self)
          eflags = eflags << 8 | (UInt64(hex, radix: 16) ?? 0)
        }
      }
      let code = try stub.request("m\(String(rip, radix: 16)),10")
      var line = "\(count) rip=\(hex(rip)) bytes=\(code.hasPrefix("E") ? "?" : code)"
      for (index, name) in Self.registerNames.enumerated() where name != "rip" {
        line += " \(name)=\(hex(word(index, size: 8)))"
      }
      line += " eflags=\(hex(eflags))\n"
      text += line
      if text.utf8.count > 1 << 16 {
        output.write(Data(text.utf8))
        text = ""
      }
      let stop = try stub.request("s")
      guard stop.hasPrefix("T") || stop.hasPrefix("S") else {
        throw VMError(.failed, "QEMU's gdb stub answered a step with '\(stop.prefix(40))' at instruction \(count)")
      }
      let next = try monitor.instructionCount()
      if next == count {
        // A step that executed nothing (an interrupt or exception entered): its line shows
        // the new rip under the same count.
        idleSteps += 1
        if idleSteps > 64 { throw VMError(.failed, "single steps stopped advancing at instruction \(count)") }
        continue
      }
      idleSteps = 0
      count = next
      lines += 1
      if lines % 1000 == 0 { progress(count) }
    }
    output.write(Data(text.utf8))
    return lines
  }
}

private func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
