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

  /// Parses `7ffff7fc3000-7ffff7fc5000 r--p 00000000 fd:00 1234   /usr/lib/ld.so`.
  public init?(line: Substring) {
    let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
    guard fields.count >= 5 else { return nil }
    let range = fields[0].split(separator: "-")
    guard range.count == 2, let start = UInt64(range[0], radix: 16), let end = UInt64(range[1], radix: 16),
      let offset = UInt64(fields[2], radix: 16), let inode = UInt64(fields[4])
    else { return nil }
    self.start = start
    self.end = end
    self.permissions = String(fields[1])
    self.offset = offset
    self.device = String(fields[3])
    self.inode = inode
    self.name = fields.count > 5 ? String(fields[5].drop(while: { $0 == " " })) : ""
  }

  public var isFileBacked: Bool { inode != 0 && name.hasPrefix("/") }
}

/// Reads and parses /proc/PID/maps.
public func readMaps(of pid: Int32) throws(Errno) -> [MapsEntry] {
  let text = try readProcFile("/proc/\(pid)/maps")
  return text.split(separator: "\n").compactMap { MapsEntry(line: $0) }
}

/// Reads a whole /proc file (their sizes are not known in advance).
public func readProcFile(_ path: String) throws(Errno) -> String {
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
  return String(decoding: data, as: UTF8.self)
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

/// The number on the `NAME:` line of a /proc file made of such lines (status, fdinfo).
public func procField(_ name: String, inFile path: String) -> Int? {
  guard let text = try? readProcFile(path) else { return nil }
  for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
    return Int(line.dropFirst(name.count + 1).drop { $0 == " " || $0 == "\t" })
  }
  return nil
}
