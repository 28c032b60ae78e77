extension EventDecoder {
  /// The checks of decoded values that framing and checksums cannot catch: replay hands these
  /// values to ptrace and to the file system, and a damaged one must be reported as a damaged
  /// trace here rather than trap (or do harm) there. Each throws the reason as `Overrun`, which
  /// `next()` prefixes with the event and the frame.
  enum Check {
    /// `sizeof(siginfo_t)` on Linux.
    static let siginfoSize = 128

    static func that(_ condition: Bool, _ reason: @autoclosure () -> String)
      throws(ByteReader.Overrun)
    {
      if !condition { throw ByteReader.Overrun(reason: reason()) }
    }

    /// Linux numbers signals 1 to 64 (`_NSIG`).
    static func signalNumber(_ signal: Int32) throws(ByteReader.Overrun) {
      try that((1...64).contains(signal), "signal number \(signal) is not one of Linux's 1-64")
    }

    /// `count` bytes at `address` stay inside the 64-bit address space.
    static func span(_ address: UInt64, _ count: UInt64, _ what: String)
      throws(ByteReader.Overrun)
    {
      try that(
        count <= UInt64.max - address,
        "\(what) of \(count) bytes at 0x\(String(address, radix: 16)) runs past the end of "
          + "the address space")
    }

    static func codePointWord(_ word: CodePointMemory) throws(ByteReader.Overrun) {
      let at = "0x" + String(word.address, radix: 16)
      try that(
        [1, 2, 4, 8].contains(word.size),
        "a code point's memory word at \(at) has size \(word.size); words are 1, 2, 4 or 8 bytes")
      try span(word.address, UInt64(word.size), "a code point's memory word")
      try that(
        word.size == 8 || word.value >> (8 * UInt64(word.size)) == 0,
        "a code point's memory word at \(at) of \(word.size) bytes holds "
          + "0x\(String(word.value, radix: 16)), which does not fit")
    }

    /// A saved file's name in `files/`: the 32 lowercase hex digits of `ContentHasher`, so a
    /// damaged one cannot name a path outside the trace.
    static func contentHash(_ hash: String) throws(ByteReader.Overrun) {
      let digits = hash.utf8.allSatisfy {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
          || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
      }
      try that(
        hash.utf8.count == 32 && digits,
        "a saved file's content hash is \"\(hash.prefix(40))\", not 32 lowercase hex digits")
    }

    /// "r-xp" and the like, as /proc/PID/maps prints them.
    static func permissions(_ text: String) throws(ByteReader.Overrun) {
      let allowed: [Set<Character>] = [["r", "-"], ["w", "-"], ["x", "-"], ["p", "s"]]
      let characters = Array(text)
      try that(
        characters.count == 4 && zip(characters, allowed).allSatisfy { $1.contains($0) },
        "an initial mapping's permissions are \"\(text.prefix(10))\", not like \"r-xp\"")
    }

    /// The initial stack starts with argc, then argc argv pointers and a null: a damaged
    /// argc would send readers of the stack (the auxiliary vector for gdb) past its end.
    static func argumentCount(in stack: MemoryChunk) throws(ByteReader.Overrun) {
      let words = UInt64(stack.bytes.count / 8)
      guard words > 0 else {
        throw ByteReader.Overrun(
          reason: "its initial stack has \(stack.bytes.count) bytes, too few to hold argc")
      }
      let argc = UInt64(
        littleEndian: stack.bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
      try that(
        argc < words - 1,
        "its initial stack says argc is \(argc), more pointers than its "
          + "\(stack.bytes.count) bytes hold")
    }
  }
}
