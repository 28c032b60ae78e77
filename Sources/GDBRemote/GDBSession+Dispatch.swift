/// What each request does to the target, and the replies gdb gets.
extension GDBSession {
  func dispatch(_ request: GDBRequest) -> Outcome {
    switch request {
    case .supported:
      let reversible = target is any ReversibleTarget
      return Outcome(
        replies: [.supported(packetSize: Self.packetSize, reversible: reversible, evaluatesConditions: target is any ConditionEvaluatingTarget)])
    case .startNoAckMode, .nonStop(false):
      return Outcome(replies: [.ok])
    case .nonStop(true):
      log("gdb asked for non-stop mode; this server is all-stop only")
      return Outcome(replies: [.error(1)])
    case .mustReplyEmpty, .offsets, .unsupported, .interrupt:
      // qOffsets: the target runs where it was linked (PIE bases come from auxv), so
      // "not supported" is right and gdb relocates nothing.
      return Outcome(replies: [.empty])
    case .symbol:
      return Outcome(replies: [.ok])  // "no symbols needed"
    case .attached:
      // The process was not started for gdb, so gdb must detach rather than kill on quit.
      return Outcome(replies: [.text("1")])
    case .readFeatures(let annex, let offset, let length):
      guard annex == TargetDescription.annex else {
        log("gdb asked for target description \(annex), but only \(TargetDescription.annex) exists")
        return Outcome(replies: [.error(0)])
      }
      return Outcome(replies: [.transfer(TargetDescription.bytes, offset: offset, length: length)])
    case .readAuxv(let offset, let length):
      return attempt("read the auxiliary vector") {
        .transfer(try target.auxiliaryVector(), offset: offset, length: length)
      }
    case .readExecFile(let pid, let offset, let length):
      return attempt("read the executable's path") {
        .transfer(Array(try target.executablePath(pid: pid).utf8), offset: offset, length: length)
      }
    case .file(let request):
      return Outcome(replies: [files.handle(request, target: target, log: log)])
    case .threadListFirst:
      return Outcome(replies: [.threadList(target.threads)])
    case .threadListNext:
      return Outcome(replies: [.threadList([])])
    case .currentThread:
      guard let thread = stopThread else { return Outcome(replies: [.error(1)]) }
      return Outcome(replies: [.currentThread(thread)])
    case .isThreadAlive(let selector):
      let alive = target.threads.contains { $0.matches(selector) }
      return Outcome(replies: [alive ? .ok : .error(1)])
    case .selectThreadForRegisters(let selector):
      return selectRegisterThread(selector)
    case .selectThreadForResume:
      // vCont names its threads itself; for plain `c`/`s` all threads run, as in all-stop.
      return Outcome(replies: [.ok])
    case .haltReason:
      return Outcome(replies: [.stop(target.currentStop)])
    case .readRegisters:
      return attempt("read registers", textual: true) { .registers(try target.registers(of: try registerThreadNow())) }
    case .readRegister(let number):
      guard let register = X86_64Register.all.first(where: { $0.number == number }) else {
        return Outcome(replies: [.error(1)])
      }
      return attempt("read register \(register.name)", textual: true) {
        .register(try target.registers(of: try registerThreadNow())[bytes: register], size: register.byteSize)
      }
    case .writeRegisters(let bytes):
      guard let registers = RegisterFile(wireBytes: bytes) else {
        let size = X86_64Register.all.reduce(0) { $0 + $1.byteSize }
        log("gdb wrote \(Self.byteCount(bytes.count)) of registers, but the x86-64 description has \(size)")
        return Outcome(replies: [.error(1)])
      }
      return attempt("write registers", textual: true) {
        try target.writeRegisters(registers, of: try registerThreadNow())
        return .ok
      }
    case .writeRegister(let number, let bytes):
      return writeRegister(number, bytes)
    case .readMemory(let address, let count):
      return Outcome(replies: [readMemory(at: address, count: count)])
    case .writeMemory(let address, let bytes):
      // gdb probes for `X` support with an empty write; that must not look like a refusal.
      guard !bytes.isEmpty else { return Outcome(replies: [.ok]) }
      return attempt("write memory at 0x\(String(address, radix: 16))") {
        try target.writeMemory(at: address, bytes: bytes)
        return .ok
      }
    case .insertBreakpoint(let breakpoint):
      return attempt("insert \(Self.describe(breakpoint))") {
        try target.insertBreakpoint(breakpoint)
        return .ok
      }
    case .removeBreakpoint(let breakpoint):
      return attempt("remove \(Self.describe(breakpoint))") {
        try target.removeBreakpoint(breakpoint)
        return .ok
      }
    case .catchSyscalls(let which):
      return attempt("catch system calls") {
        try target.catchSyscalls(which)
        return .ok
      }
    case .resumeActionsQuery:
      return Outcome(replies: [.resumeActions])
    case .resume(let actions, let direction):
      return Outcome(replies: [resume(actions, direction: direction)])
    case .monitor(let command):
      return monitor(command)
    case .kill(let pid):
      target.kill()
      // `k` has no reply; `vKill` is answered like any packet.
      return Outcome(replies: pid == nil ? [] : [.ok], end: .killed)
    case .detach:
      target.kill()
      return Outcome(replies: [.ok], end: .detached)
    }
  }

  /// The thread of the current stop: the one `qC` names and `Hg0` means. After an
  /// exit it is the first thread left, if any.
  var stopThread: ThreadID? {
    if case .signal(_, let thread, _) = target.currentStop { return thread }
    return target.threads.first
  }

  func registerThreadNow() throws -> ThreadID {
    guard let thread = registerThread ?? stopThread else {
      throw TargetError("the process has exited, so it has no registers")
    }
    return thread
  }

  /// Runs a target call, turning a thrown error into an error reply (see `errorReply`).
  func attempt(_ what: String, textual: Bool = false, _ body: () throws -> GDBReply) -> Outcome {
    do {
      return Outcome(replies: [try body()])
    } catch {
      return Outcome(replies: [errorReply(error, attempting: what, textual: textual)])
    }
  }

  /// The error reply for a failed target call, which is also logged with what gdb tried.
  ///
  /// The manual lists `E.text` among the standard replies, but gdb 13.1 (tried against
  /// this server) only prints it for some packets: "Could not read registers; remote
  /// failure reply '…'" for `g`, likewise `G`, `p`, `P`, and "Remote failure reply: …"
  /// for a resume. For `m` and `qRcmd` it fails with "Invalid hex digit 46" (only gdb
  /// 15's `error-message` feature fixes that), and for `M`, `X`, `Z`, `QCatchSyscalls`
  /// and `qXfer` it shows nothing of it. So `textual` is set only where gdb prints it;
  /// elsewhere the `Exx` code goes out and the log is where the user reads why.
  func errorReply(_ error: any Error, attempting what: String, textual: Bool = false) -> GDBReply {
    let targetError = error as? TargetError
    let message = targetError?.message ?? "\(error)"
    let refused = targetError?.isRefusal == true ? "refused: " : ""
    if !message.isEmpty { log("gdb tried to \(what): \(refused)\(message)") }
    if textual && !message.isEmpty { return .errorText(refused + message) }
    return .error(targetError?.code ?? 1)
  }

  private func selectRegisterThread(_ selector: ThreadSelector) -> Outcome {
    switch selector.thread {
    case .any, .all:
      registerThread = nil
    case .id:
      guard let thread = target.threads.first(where: { $0.matches(selector) }) else {
        log("gdb selected thread \(selector), which the target does not have")
        return Outcome(replies: [.error(1)])
      }
      registerThread = thread
    }
    return Outcome(replies: [.ok])
  }

  /// "a write watchpoint on 4 bytes at 0x404028", for the log.
  static func describe(_ breakpoint: Breakpoint) -> String {
    let at = "at 0x" + String(breakpoint.address, radix: 16)
    switch breakpoint.kind {
    case .software: return "a breakpoint \(at)"
    case .hardware: return "a hardware breakpoint \(at)"
    case .writeWatchpoint: return "a write watchpoint on \(breakpoint.size) bytes \(at)"
    case .readWatchpoint: return "a read watchpoint on \(breakpoint.size) bytes \(at)"
    case .accessWatchpoint: return "an access watchpoint on \(breakpoint.size) bytes \(at)"
    }
  }

  /// `P`: gdb writes one register; the target takes whole register files.
  private func writeRegister(_ number: Int, _ bytes: [UInt8]) -> Outcome {
    guard let register = X86_64Register.all.first(where: { $0.number == number }) else {
      log("gdb wrote register number \(number), which the x86-64 description does not have")
      return Outcome(replies: [.error(1)])
    }
    guard bytes.count == register.byteSize else {
      log("gdb wrote \(Self.byteCount(bytes.count)) to \(register.name), which has \(register.byteSize)")
      return Outcome(replies: [.error(1)])
    }
    return attempt("write register \(register.name)", textual: true) {
      let thread = try registerThreadNow()
      var registers = try target.registers(of: thread)
      registers[bytes: register] = bytes
      try target.writeRegisters(registers, of: thread)
      return .ok
    }
  }

  static func byteCount(_ count: Int) -> String { count == 1 ? "1 byte" : "\(count) bytes" }
}

extension GDBSession {
  /// `m`: as gdbserver does, a range that is only partly readable yields its longest
  /// readable prefix, so `x/64xb` near the end of a mapping shows what is there; an
  /// error only when not even the first byte can be read.
  func readMemory(at address: UInt64, count requested: Int) -> GDBReply {
    // At two hex digits a byte, the reply must fit the packet size gdb was told.
    let count = min(requested, Self.packetSize / 2)
    let firstError: any Error
    do {
      return .memory(try target.readMemory(at: address, count: count))
    } catch {
      firstError = error
    }
    // A prefix of a readable range is readable, so the longest one is found by bisection.
    var readable: [UInt8] = []
    var low = 0
    var high = count
    while high - low > 1 {
      let middle = low + (high - low) / 2
      if let bytes = try? target.readMemory(at: address, count: middle) {
        readable = bytes
        low = middle
      } else {
        high = middle
      }
    }
    guard readable.isEmpty else { return .memory(readable) }
    // gdb reads unmapped memory all the time (probing, `x` past a mapping), so only
    // a target's own message is logged, not every miss.
    if let error = firstError as? TargetError {
      return errorReply(error, attempting: "read \(count) bytes at 0x\(String(address, radix: 16))")
    }
    return .error(1)
  }

  /// `qRcmd`: output as `O` packets, then `OK`. gdb 13 prints `E.text` replies to qRcmd
  /// as garbage, so a failed command's message goes out as output before the `E01`. gdb
  /// shows it: nothing goes to the server's log (front ends such as GEF probe commands a
  /// target may decline, and the user would see each twice).
  func monitor(_ command: String) -> Outcome {
    do {
      return Outcome(replies: Self.consoleOutput(try target.monitor(command)) + [.ok])
    } catch {
      let message = (error as? TargetError)?.message ?? "\(error)"
      let code = (error as? TargetError)?.code ?? 1
      return Outcome(replies: Self.consoleOutput(message + "\n") + [.error(code)])
    }
  }

  /// `text` in `O` packets of at most `limit` UTF-8 bytes (twice that in hex), split
  /// between characters.
  static func consoleOutput(_ text: String, limit: Int = 1024) -> [GDBReply] {
    var replies: [GDBReply] = []
    var chunk = ""
    var size = 0
    for character in text {
      let width = character.utf8.count
      if size + width > limit && !chunk.isEmpty {
        replies.append(.consoleOutput(chunk))
        chunk = ""
        size = 0
      }
      chunk.append(character)
      size += width
    }
    if !chunk.isEmpty { replies.append(.consoleOutput(chunk)) }
    return replies
  }
}
