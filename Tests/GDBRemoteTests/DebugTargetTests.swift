import Testing

@testable import GDBRemote

/// The target protocols as the server loop will use them: replies built from what
/// a target answers, and reverse execution found with `as?`.
@Suite struct DebugTargetTests {
  let main = ThreadID(pid: 0x1f, tid: 0x1f)

  func makeTarget() -> FakeTarget {
    FakeTarget(
      threads: [main, ThreadID(pid: 0x1f, tid: 0x20)],
      registerFiles: [main: RegisterFile(["rip": 0x401136, "rsp": 0x7fff_ffff_e3a0])],
      memory: [(start: 0x401136, bytes: [0x55, 0x48, 0x89, 0xe5])],
      script: [
        .signal(5, thread: main, cause: .softwareBreakpoint),
        .signal(5, thread: main, cause: .syscallEntry(1)),
        .signal(5, thread: main, cause: .syscallReturn(1)),
        .exited(status: 0, pid: 0x1f),
      ])
  }

  func reply(_ reply: GDBReply) -> String { String(decoding: reply.payload, as: UTF8.self) }

  @Test func repliesComeFromWhatTheTargetAnswers() throws {
    let target: any DebugTarget = makeTarget()
    #expect(reply(.threadList(target.threads)) == "mp1f.1f,p1f.20")
    #expect(reply(.memory(try target.readMemory(at: 0x401136, count: 4))) == "554889e5")
    #expect(throws: FakeTarget.UnmappedMemory.self) { try target.readMemory(at: 0, count: 1) }
    let registers = try target.registers(of: main)
    #expect(reply(.register(registers[bytes: X86_64Register.pc], size: 8)) == "3611400000000000")
    #expect(reply(.stop(try target.resume([ResumeAction(.continue)]))) == "T05thread:p1f.1f;swbreak:;")
  }

  @Test func reverseExecutionIsFoundWithAsAndRunsBothWays() throws {
    let target: any DebugTarget = makeTarget()
    let reversible = try #require(target as? any ReversibleTarget)
    #expect(reply(.supported(packetSize: 0x4000, reversible: true)).hasSuffix("ReverseContinue+;ReverseStep+"))
    let start = try reversible.checkpoint()
    var stops: [String] = []
    for _ in 0..<5 { stops.append(reply(.stop(try reversible.resume([ResumeAction(.continue)], direction: .forward)))) }
    #expect(
      stops == [
        "T05thread:p1f.1f;swbreak:;", "T05thread:p1f.1f;syscall_entry:1;", "T05thread:p1f.1f;syscall_return:1;",
        "W00;process:1f", "T05thread:p1f.1f;replaylog:end;",
      ])
    let back = try reversible.resume([ResumeAction(.continue)], direction: .backward)
    #expect(reply(.stop(back)) == "T05thread:p1f.1f;syscall_return:1;")
    try reversible.restore(start)
    let before = try reversible.resume([ResumeAction(.step)], direction: .backward)
    #expect(reply(.stop(before)) == "T05thread:p1f.1f;replaylog:begin;")
  }

  @Test func aDecodedBackwardContinueDrivesTheTarget() throws {
    let target = makeTarget()
    _ = try target.resume([ResumeAction(.continue)], direction: .forward)
    _ = try target.resume([ResumeAction(.continue)], direction: .forward)
    var decoder = PacketDecoder()
    for frame in decoder.feed(Array("$bc#c5".utf8)) {
      guard case .packet(let payload) = frame,
        case .resume(let actions, let direction) = try GDBRequest(parsing: payload)
      else {
        Issue.record("expected a resume, got \(frame)")
        continue
      }
      #expect(reply(.stop(try target.resume(actions, direction: direction))) == "T05thread:p1f.1f;swbreak:;")
    }
    #expect(target.resumes.last?.1 == .backward)
  }
}
