extension GDBRequest {
  public init(parsing payload: Substring) throws(GDBProtocolError) {
    try self.init(parsing: Array(payload.utf8))
  }

  /// Parses a payload as the decoder delivers it (unescaped, so `X` data is raw).
  public init(parsing payload: [UInt8]) throws(GDBProtocolError) {
    guard let first = payload.first else {
      self = .unsupported("")
      return
    }
    let text = String(decoding: payload, as: UTF8.self)
    func scanner(_ name: String, skipping prefix: Int? = nil) -> PayloadScanner {
      PayloadScanner(payload, packetName: name, skipping: prefix ?? name.utf8.count)
    }
    switch Character(Unicode.Scalar(first)) {
    case "?": self = .haltReason
    case "g": self = .readRegisters
    case "G":
      var s = scanner("G")
      self = .writeRegisters(try s.hexBytes("the register values"))
    case "p":
      var s = scanner("p")
      let number = try s.hexCount("the register number", limit: 0xffff)
      try s.expectEnd(after: "the register number")
      self = .readRegister(number)
    case "P":
      var s = scanner("P")
      let number = try s.hexCount("the register number", limit: 0xffff)
      try s.expect("=", "<value>' after the register number")
      self = .writeRegister(number, try s.hexBytes("the register value"))
    case "m":
      var s = scanner("m")
      let (address, count) = try s.addressAndLength()
      try s.expectEnd(after: "the length")
      self = .readMemory(address: address, count: count)
    case "M":
      var s = scanner("M")
      let (address, count) = try s.addressAndLength()
      try s.expect(":", "<bytes>' after the length")
      let bytes = try s.hexBytes("the bytes")
      guard bytes.count == count else { throw s.fail("length \(count) but \(bytes.count) bytes given") }
      self = .writeMemory(address: address, bytes: bytes)
    case "X":
      var s = scanner("X")
      let (address, count) = try s.addressAndLength()
      try s.expect(":", "<bytes>' after the length")
      let bytes = Array(s.rest)
      guard bytes.count == count else { throw s.fail("length \(count) but \(bytes.count) bytes given") }
      self = .writeMemory(address: address, bytes: bytes)
    case "c", "s":
      let kind: ResumeAction.Kind = first == UInt8(ascii: "c") ? .continue : .step
      var s = scanner(String(Character(Unicode.Scalar(first))))
      let address = s.isAtEnd ? nil : try s.hexNumber("the address to resume at")
      try s.expectEnd(after: "the address")
      self = .resume([ResumeAction(kind, address: address)], direction: .forward)
    case "C", "S":
      let kind: ResumeAction.Kind = first == UInt8(ascii: "C") ? .continue : .step
      var s = scanner(String(Character(Unicode.Scalar(first))))
      let signal = try s.signalNumber()
      let address = s.skip(";") ? try s.hexNumber("the address to resume at") : nil
      try s.expectEnd(after: "the signal")
      self = .resume([ResumeAction(kind, signal: signal, address: address)], direction: .forward)
    case "b" where text == "bc": self = .resume([ResumeAction(.continue)], direction: .backward)
    case "b" where text == "bs": self = .resume([ResumeAction(.step)], direction: .backward)
    case "Z", "z":
      let name = String(text.prefix(2))
      var s = scanner(name, skipping: 1)
      let type = try s.hexCount("the breakpoint type 0-4", limit: 0xff)
      guard let kind = Breakpoint.Kind(rawValue: UInt8(type)) else {
        throw s.fail("expected a breakpoint type 0-4, not \(type)")
      }
      try s.expect(",", "<address>' after the type")
      let address = try s.hexNumber("the address")
      try s.expect(",", "<kind>' after the address")
      let size = try s.hexCount("the kind (size)", limit: 0xffff)
      // Conditions (`X len,bytes`, one after another or `;`-separated) for a target that
      // evaluates them; commands (`cmds:…`), gdb's own business, end the list.
      var conditions: [AgentExpression] = []
      if !s.isAtEnd { try s.expect(";", "' or the end after the kind") }
      while !s.isAtEnd {
        if s.skip(";") { continue }
        guard s.skip("X") else { break }
        let length = try s.hexCount("the condition's length", limit: 0x10000)
        try s.expect(",", "' after the condition's length")
        conditions.append(AgentExpression(try s.hexBytes("the condition", count: length)))
      }
      let breakpoint = Breakpoint(kind, address: address, size: size, conditions: conditions)
      self = first == UInt8(ascii: "Z") ? .insertBreakpoint(breakpoint) : .removeBreakpoint(breakpoint)
    case "H":
      var s = scanner(String(text.prefix(2)), skipping: 2)
      let op = payload.count > 1 ? payload[1] : 0
      guard op == UInt8(ascii: "g") || op == UInt8(ascii: "c") else {
        throw s.fail("expected 'g' or 'c' after 'H'")
      }
      let thread = try s.threadSelector()
      try s.expectEnd(after: "the thread id")
      self = op == UInt8(ascii: "g") ? .selectThreadForRegisters(thread) : .selectThreadForResume(thread)
    case "T":
      var s = scanner("T")
      let thread = try s.threadSelector()
      try s.expectEnd(after: "the thread id")
      self = .isThreadAlive(thread)
    case "k": self = .kill(pid: nil)
    case "D":
      var s = scanner("D")
      self = .detach(pid: s.skip(";") ? try s.pid() : nil)
    case "v": self = try Self.parseV(text, payload)
    case "q", "Q": self = try Self.parseQuery(text, payload)
    default: self = .unsupported(text)
    }
  }

  private static func parseV(_ text: String, _ payload: [UInt8]) throws(GDBProtocolError) -> GDBRequest {
    if text == "vCont?" { return .resumeActionsQuery }
    if text == "vMustReplyEmpty" { return .mustReplyEmpty }
    if text.hasPrefix("vCont;") {
      var s = PayloadScanner(payload, packetName: "vCont", skipping: 6)
      return .resume(try s.resumeActions(), direction: .forward)
    }
    if text.hasPrefix("vKill;") {
      var s = PayloadScanner(payload, packetName: "vKill", skipping: 6)
      let pid = try s.pid()
      try s.expectEnd(after: "the process id")
      return .kill(pid: pid)
    }
    if text.hasPrefix("vFile:") { return try parseFile(text, payload) }
    return .unsupported(text)
  }

  private static func parseFile(_ text: String, _ payload: [UInt8]) throws(GDBProtocolError) -> GDBRequest {
    let operation = text.dropFirst(6).prefix { $0 != ":" }
    let name = "vFile:" + operation
    var s = PayloadScanner(payload, packetName: String(name), skipping: name.utf8.count)
    guard operation != "" else { throw s.fail("expected an operation after 'vFile:'") }
    switch operation {
    case "open", "pread", "close", "fstat", "setfs", "readlink":
      try s.expect(":", "' after the operation")
    default:
      return .unsupported(text)
    }
    let request: FileRequest
    switch operation {
    case "open":
      let path = try s.hexPath(until: ",")
      try s.expect(",", "<flags>' after the file name")
      let flags = try s.hexNumber("the flags")
      try s.expect(",", "<mode>' after the flags")
      request = .open(path: path, flags: flags, mode: try s.hexNumber("the mode"))
    case "pread":
      let fd = try s.hexCount("the file descriptor")
      try s.expect(",", "<count>' after the file descriptor")
      let count = try s.hexCount("the count")
      try s.expect(",", "<offset>' after the count")
      request = .pread(fd: fd, count: count, offset: try s.hexNumber("the offset"))
    case "close": request = .close(fd: try s.hexCount("the file descriptor"))
    case "fstat": request = .fstat(fd: try s.hexCount("the file descriptor"))
    case "setfs": request = .setfs(pid: try s.hexCount("the process id", limit: Int(Int32.max)))
    default: request = .readlink(path: try s.hexPath(until: nil))
    }
    try s.expectEnd(after: "the last argument")
    return .file(request)
  }
}

extension PayloadScanner {
  /// `addr,length`, shared by `m`, `M` and `X`.
  mutating func addressAndLength() throws(GDBProtocolError) -> (UInt64, Int) {
    let address = try hexNumber("the address")
    try expect(",", "<length>' after the address")
    return (address, try hexCount("the length"))
  }

  mutating func signalNumber() throws(GDBProtocolError) -> UInt8 {
    UInt8(try hexCount("the signal number", limit: 0xff))
  }

  mutating func pid() throws(GDBProtocolError) -> Int32 {
    Int32(try hexCount("the process id", limit: Int(Int32.max)))
  }

  /// A file name sent as hex-encoded bytes (vFile).
  mutating func hexPath(until terminator: Character?) throws(GDBProtocolError) -> String {
    String(decoding: try hexBytes("the file name", until: terminator), as: UTF8.self)
  }

  /// `action[:thread]` items separated by `;` (after `vCont;`).
  mutating func resumeActions() throws(GDBProtocolError) -> [ResumeAction] {
    var actions: [ResumeAction] = []
    repeat {
      let letter = peek()
      index += 1
      var action: ResumeAction
      switch letter.map({ Character(Unicode.Scalar($0)) }) {
      case "c": action = ResumeAction(.continue)
      case "s": action = ResumeAction(.step)
      case "t": action = ResumeAction(.stop)
      case "C": action = ResumeAction(.continue, signal: try signalNumber())
      case "S": action = ResumeAction(.step, signal: try signalNumber())
      default:
        index -= 1
        throw fail("expected an action c, s, C, S or t, not \(quoted(rest.prefix(1)))")
      }
      if skip(":") { action.threads = try threadSelector() }
      actions.append(action)
    } while skip(";")
    try expectEnd(after: "the actions")
    return actions
  }
}
