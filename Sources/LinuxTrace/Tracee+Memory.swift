import CSupport
import Glibc

extension Tracee {
  /// Reads `count` bytes of tracee memory. Uses process_vm_readv (one copy, no page pinning)
  /// and falls back to /proc/PID/mem, which can also read PROT_NONE-free guard gaps' neighbours.
  public func readMemory(at address: UInt64, count: Int) throws(Errno) -> [UInt8] {
    if count == 0 { return [] }
    var bytes = [UInt8](repeating: 0, count: count)
    let got = bytes.withUnsafeMutableBytes { buffer in
      rewind_process_vm_readv(tid, buffer.baseAddress, count, UInt(address))
    }
    if got == count { return bytes }
    let fd = try openedMemoryFile()
    var done = 0
    while done < count {
      let r = bytes.withUnsafeMutableBytes { buffer in
        pread(fd, buffer.baseAddress! + done, count - done, off_t(Int64(bitPattern: address &+ UInt64(done))))
      }
      if r < 0 && errno == EINTR { continue }
      if r <= 0 { throw r == 0 ? Errno.badAddress : Errno.current }
      done += r
    }
    return bytes
  }

  /// Reads a NUL-terminated string of at most `limit` bytes (the NUL is not returned).
  public func readCString(at address: UInt64, limit: Int = 4096) throws(Errno) -> [UInt8] {
    var result: [UInt8] = []
    var cursor = address
    while result.count < limit {
      // Never cross a page boundary in one read: the next page may be unmapped.
      let toPageEnd = Int(4096 - (cursor & 4095))
      let chunk = try readMemory(at: cursor, count: min(toPageEnd, limit - result.count))
      if let nul = chunk.firstIndex(of: 0) {
        result += chunk[..<nul]
        return result
      }
      result += chunk
      cursor += UInt64(chunk.count)
    }
    return result
  }

  /// Writes tracee memory through /proc/PID/mem, which (like PTRACE_POKEDATA) may write
  /// read-only private mappings: replay must fill code and rodata pages of emulated mmaps.
  public func writeMemory(at address: UInt64, bytes: [UInt8]) throws(Errno) {
    if bytes.isEmpty { return }
    let fd = try openedMemoryFile()
    var done = 0
    while done < bytes.count {
      let r = bytes.withUnsafeBytes { buffer in
        pwrite(fd, buffer.baseAddress! + done, bytes.count - done, off_t(Int64(bitPattern: address &+ UInt64(done))))
      }
      if r < 0 && errno == EINTR { continue }
      if r <= 0 { throw r == 0 ? Errno.badAddress : Errno.current }
      done += r
    }
  }

  /// Reads one little-endian 64-bit word.
  public func readWord(at address: UInt64) throws(Errno) -> UInt64 {
    try readValue(at: address, size: 8)
  }

  /// Reads a little-endian value of `size` bytes (1 to 8), zero-extended.
  public func readValue(at address: UInt64, size: Int) throws(Errno) -> UInt64 {
    precondition((1...8).contains(size))
    var word = [UInt8](repeating: 0, count: 8)
    word.replaceSubrange(0..<size, with: try readMemory(at: address, count: size))
    return UInt64(littleEndian: word.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
  }
}

extension Tracee {
  /// The first `syscall` instruction (0f 05) in `mappings`, in their order, read 64 KiB at a
  /// time; for a call injected into the tracee, only the two bytes at rip run before the
  /// call's exit stop, whatever instruction they belong to.
  public func findSyscallInstruction(in mappings: [MapsEntry]) -> UInt64? {
    for mapping in mappings {
      var address = mapping.start
      while address < mapping.end {
        let count = Int(min(65536, mapping.end - address))
        // One byte more, when there is one, for an instruction across the chunk's end.
        guard let bytes = try? readMemory(at: address, count: count + (address + UInt64(count) < mapping.end ? 1 : 0)) else { break }
        for i in 0..<(bytes.count - 1) where bytes[i] == 0x0f && bytes[i + 1] == 0x05 {
          return address + UInt64(i)
        }
        address += UInt64(count)
      }
    }
    return nil
  }
}
