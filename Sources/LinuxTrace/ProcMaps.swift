import Glibc

/// One line of /proc/PID/maps.
public struct MapsEntry: Equatable, Sendable {
  public var start: UInt64
  public var end: UInt64
  public var permissions: String
  public var offset: UInt64
  public var device: String
  public var inode: UInt64
  public var name: String

  public var isReadable: Bool { permissions.utf8.first == UInt8(ascii: "r") }
  public var isExecutable: Bool { permissions.utf8.dropFirst(2).first == UInt8(ascii: "x") }
  public var isPrivate: Bool { permissions.utf8.last == UInt8(ascii: "p") }

  /// Parses `7ffff7fc3000-7ffff7fc5000 r--p 00000000 fd:00 1234   /usr/lib/ld.so`.
  public init?(line: Substring) {
    var bytes = Array(line.utf8)[...]
    self.init(bytes: &bytes)
  }

  /// Parses one line's bytes (no newline). Byte by byte, because replay reads the maps at
  /// every code point it patches and String splitting cost ~0.3 ms a read there.
  init?(bytes line: inout ArraySlice<UInt8>) {
    func field() -> ArraySlice<UInt8> {
      while line.first == UInt8(ascii: " ") { line.removeFirst() }
      let end = line.firstIndex(of: UInt8(ascii: " ")) ?? line.endIndex
      defer { line = line[end...] }
      return line[..<end]
    }
    func number(_ digits: ArraySlice<UInt8>, radix: UInt64) -> UInt64? {
      guard !digits.isEmpty, digits.count <= 16 else { return nil }
      var value: UInt64 = 0
      for c in digits {
        let digit: UInt64
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: digit = UInt64(c - UInt8(ascii: "a") + 10)
        default: return nil
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: radix)
        guard !overflow else { return nil }
        value = product + digit
      }
      return value
    }
    let range = field()
    guard let dash = range.firstIndex(of: UInt8(ascii: "-")),
      let start = number(range[..<dash], radix: 16), let end = number(range[(dash + 1)...], radix: 16)
    else { return nil }
    let permissions = field()
    guard let offset = number(field(), radix: 16) else { return nil }
    let device = field()
    guard let inode = number(field(), radix: 10), !permissions.isEmpty, !device.isEmpty else { return nil }
    while line.first == UInt8(ascii: " ") { line.removeFirst() }
    self.start = start
    self.end = end
    self.permissions = String(decoding: permissions, as: UTF8.self)
    self.offset = offset
    self.device = String(decoding: device, as: UTF8.self)
    self.inode = inode
    self.name = String(decoding: line, as: UTF8.self)
  }

  public var isFileBacked: Bool { inode != 0 && name.hasPrefix("/") }
}

/// Reads and parses /proc/PID/maps.
public func readMaps(of pid: Int32) throws(Errno) -> [MapsEntry] {
  let bytes = try readProcBytes("/proc/\(pid)/maps")
  return bytes.split(separator: UInt8(ascii: "\n")).compactMap { line in
    var line = line
    return MapsEntry(bytes: &line)
  }
}

/// Reads a whole /proc file (their sizes are not known in advance).
public func readProcFile(_ path: String) throws(Errno) -> String {
  String(decoding: try readProcBytes(path), as: UTF8.self)
}

/// The bytes of a whole /proc file.
public func readProcBytes(_ path: String) throws(Errno) -> [UInt8] {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  if fd < 0 { throw Errno.current }
  defer { close(fd) }
  var data: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: 65536)
  while true {
    let r = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if r < 0 && errno == EINTR { continue }
    if r < 0 { throw Errno.current }
    if r == 0 { break }
    data += buffer[..<r]
  }
  return data
}

/// The target of /proc/PID/fd/N or /proc/PID/exe.
public func readLink(_ path: String) -> String? {
  var buffer = [CChar](repeating: 0, count: 4097)
  let n = readlink(path, &buffer, 4096)
  if n < 0 { return nil }
  return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A numeric field of /proc/PID/status (`PPid`, `Threads`...), or nil.
public func procStatusField(_ name: String, of pid: Int32) -> Int? {
  procField(name, inFile: "/proc/\(pid)/status")
}

/// The signals this process ignores (`SigIgn` of /proc/self/status: bit N-1 for signal N),
/// which a program it starts inherits across exec.
public func ignoredSignalsOfThisProcess() -> UInt64? {
  procFieldText("SigIgn", inFile: "/proc/self/status").flatMap { UInt64($0, radix: 16) }
}

/// The number on the `NAME:` line of a /proc file made of such lines (status, fdinfo).
public func procField(_ name: String, inFile path: String) -> Int? {
  procFieldText(name, inFile: path).flatMap { Int($0) }
}

/// What follows `NAME:` and its blanks on that line of a /proc file.
private func procFieldText(_ name: String, inFile path: String) -> Substring? {
  guard let text = try? readProcFile(path) else { return nil }
  for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
    return line.dropFirst(name.count + 1).drop { $0 == " " || $0 == "\t" }
  }
  return nil
}
