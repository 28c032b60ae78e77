/// Reads tracee memory. The recorder passes a live reader (process_vm_readv); `rewind dump`
/// passes a `MemorySnapshot` of what the trace captured. Keeping this a protocol keeps the
/// module pure: it never touches a process.
public protocol TraceeMemoryReading {
  /// Exactly `count` bytes at `address`, or a thrown error when any of them cannot be read.
  func readBytes(at address: UInt64, count: Int) throws -> [UInt8]
}

/// A range of tracee memory a system call reads or writes.
public struct MemoryRegion: Hashable, Sendable, CustomStringConvertible {
  public var address: UInt64
  public var count: Int

  public init(address: UInt64, count: Int) {
    self.address = address
    self.count = count
  }

  public var description: String { "\(hex(address))+\(count)" }
}

/// Tracee memory as captured in a trace: chunks of bytes at addresses. Reads must be covered
/// by the chunks; a later chunk wins over an earlier one (an output over the same input).
public struct MemorySnapshot: TraceeMemoryReading, Sendable {
  private var chunks: [(address: UInt64, bytes: [UInt8])]

  public init(chunks: [(address: UInt64, bytes: [UInt8])]) {
    self.chunks = chunks
  }

  public func readBytes(at address: UInt64, count: Int) throws -> [UInt8] {
    var result: [UInt8] = []
    result.reserveCapacity(count)
    var next = address
    let end = address &+ UInt64(count)
    while next < end {
      guard
        let index = chunks.lastIndex(where: {
          $0.address <= next && next - $0.address < UInt64($0.bytes.count)
        })
      else {
        throw MemoryNotCaptured(address: address, count: count, firstMissing: next)
      }
      let chunk = chunks[index]
      let start = Int(next - chunk.address)
      var take = min(chunk.bytes.count - start, Int(end - next))
      // Stop where a later chunk starts: its bytes win from there on.
      for later in chunks[(index + 1)...] where later.address > next {
        take = min(take, Int(min(later.address - next, UInt64(take))))
      }
      result += chunk.bytes[start..<start + take]
      next += UInt64(take)
    }
    return result
  }
}

/// A read of memory the trace did not capture.
public struct MemoryNotCaptured: Error, CustomStringConvertible, Equatable {
  public var address: UInt64
  public var count: Int
  public var firstMissing: UInt64

  public var description: String {
    "the trace holds no copy of tracee memory at \(hex(firstMissing)) "
      + "(reading \(count) bytes at \(hex(address)))"
  }
}

extension TraceeMemoryReading {
  func readUInt64(at address: UInt64) throws -> UInt64 {
    try readBytes(at: address, count: 8).littleEndianInteger()
  }

  func readUInt32(at address: UInt64) throws -> UInt32 {
    UInt32(truncatingIfNeeded: try readBytes(at: address, count: 4).littleEndianInteger())
  }

  /// The bytes of a NUL-terminated string, without the NUL, and whether the NUL was found
  /// within `limit` bytes. Reads page by page: the string may end just before unmapped memory.
  func readCString(at address: UInt64, limit: Int) throws -> (bytes: [UInt8], terminated: Bool) {
    var bytes: [UInt8] = []
    var next = address
    while bytes.count < limit {
      let toPageEnd = Int(4096 - next % 4096)
      let want = min(toPageEnd, limit - bytes.count)
      let chunk: [UInt8]
      do {
        chunk = try readBytes(at: next, count: want)
      } catch {
        // A snapshot holds the string and its NUL but not the rest of the page.
        var byte = try readBytes(at: next, count: 1)
        var partial: [UInt8] = []
        while byte[0] != 0 && partial.count < want - 1 {
          partial.append(byte[0])
          byte = try readBytes(at: next + UInt64(partial.count), count: 1)
        }
        chunk = partial + byte
      }
      if let nul = chunk.firstIndex(of: 0) {
        return (bytes + chunk[..<nul], true)
      }
      bytes += chunk
      next += UInt64(chunk.count)
    }
    return (bytes, false)
  }
}

extension Array where Element == UInt8 {
  /// Bytes 0..<min(count, 8) as a little-endian unsigned integer.
  func littleEndianInteger(at offset: Int = 0, count: Int? = nil) -> UInt64 {
    let width = count ?? Swift.min(8, self.count - offset)
    var value: UInt64 = 0
    for index in stride(from: width - 1, through: 0, by: -1) {
      value = value << 8 | UInt64(self[offset + index])
    }
    return value
  }
}
