import Testing

@testable import GDBRemote

/// Payloads as gdb 13 sends them (seen with `set debug remote 1`).
@Suite struct GDBRequestTests {
  func parse(_ text: String) throws -> GDBRequest { try GDBRequest(parsing: Substring(text)) }

  func thread(_ pid: Int32, _ tid: Int32) -> ThreadSelector {
    .thread(ThreadID(pid: pid, tid: tid))
  }

  @Test func registersAndMemory() throws {
    #expect(try parse("?") == .haltReason)
    #expect(try parse("g") == .readRegisters)
    #expect(try parse("G0100000000000000ff") == .writeRegisters([1, 0, 0, 0, 0, 0, 0, 0, 0xff]))
    #expect(try parse("p10") == .readRegister(16))
    #expect(try parse("P10=3611400000000000") == .writeRegister(16, [0x36, 0x11, 0x40, 0, 0, 0, 0, 0]))
    #expect(try parse("m401000,8") == .readMemory(address: 0x401000, count: 8))
    #expect(try parse("m7ffff7fe3290,40") == .readMemory(address: 0x7fff_f7fe_3290, count: 64))
    #expect(try parse("M601040,4:01000000") == .writeMemory(address: 0x601040, bytes: [1, 0, 0, 0]))
    // gdb probes for X support with an empty write.
    #expect(try parse("X601040,0:") == .writeMemory(address: 0x601040, bytes: []))
    let binary = try GDBRequest(parsing: Array("X10,3:".utf8) + [0, 0x23, 0xff])
    #expect(binary == .writeMemory(address: 0x10, bytes: [0, 0x23, 0xff]))
  }

  @Test func resumeForwardAndBackward() throws {
    #expect(try parse("c") == .resume([ResumeAction(.continue)], direction: .forward))
    #expect(try parse("s") == .resume([ResumeAction(.step)], direction: .forward))
    #expect(try parse("c401136") == .resume([ResumeAction(.continue, address: 0x401136)], direction: .forward))
    #expect(try parse("C0b") == .resume([ResumeAction(.continue, signal: 11)], direction: .forward))
    #expect(try parse("bc") == .resume([ResumeAction(.continue)], direction: .backward))
    #expect(try parse("bs") == .resume([ResumeAction(.step)], direction: .backward))
    #expect(try parse("vCont?") == .resumeActionsQuery)
    #expect(try parse("vCont;c") == .resume([ResumeAction(.continue)], direction: .forward))
    #expect(
      try parse("vCont;s:p1f.1f;c")
        == .resume([ResumeAction(.step, threads: thread(0x1f, 0x1f)), ResumeAction(.continue)], direction: .forward))
    #expect(
      try parse("vCont;C0b:p1f.20;c")
        == .resume(
          [ResumeAction(.continue, signal: 11, threads: thread(0x1f, 0x20)), ResumeAction(.continue)],
          direction: .forward))
    #expect(
      try parse("vCont;S05:p1f.1f")
        == .resume([ResumeAction(.step, signal: 5, threads: thread(0x1f, 0x1f))], direction: .forward))
    #expect(
      try parse("vCont;t:p1f.-1")
        == .resume(
          [ResumeAction(.stop, threads: ThreadSelector(process: .id(0x1f), thread: .all))], direction: .forward))
  }

  @Test func breakpointsAndWatchpoints() throws {
    #expect(try parse("Z0,401136,1") == .insertBreakpoint(Breakpoint(.software, address: 0x401136, size: 1)))
    #expect(try parse("z0,401136,1") == .removeBreakpoint(Breakpoint(.software, address: 0x401136, size: 1)))
    #expect(try parse("Z1,401136,1") == .insertBreakpoint(Breakpoint(.hardware, address: 0x401136, size: 1)))
    #expect(try parse("Z2,404028,4") == .insertBreakpoint(Breakpoint(.writeWatchpoint, address: 0x404028, size: 4)))
    #expect(try parse("Z3,404028,8") == .insertBreakpoint(Breakpoint(.readWatchpoint, address: 0x404028, size: 8)))
    #expect(try parse("z4,404028,2") == .removeBreakpoint(Breakpoint(.accessWatchpoint, address: 0x404028, size: 2)))
    // Conditions for the target to evaluate, one after another or `;`-separated; commands
    // end the list.
    let condition = AgentExpression([0x22, 0x00, 0x27])
    #expect(
      try parse("Z0,401136,1;X3,220027") == .insertBreakpoint(Breakpoint(.software, address: 0x401136, size: 1, conditions: [condition])))
    #expect(
      try parse("Z1,401136,1;X3,220027X2,2201;cmds:0,X1,27")
        == .insertBreakpoint(Breakpoint(.hardware, address: 0x401136, size: 1, conditions: [condition, AgentExpression([0x22, 0x01])])))
    #expect(throws: GDBProtocolError.self) { try parse("Z0,401136,1;X3,2200") }
  }

  @Test func threadIds() throws {
    #expect(try parse("Hgp1f.1f") == .selectThreadForRegisters(thread(0x1f, 0x1f)))
    #expect(try parse("Hgp0.0") == .selectThreadForRegisters(.any))
    #expect(try parse("Hcp-1.-1") == .selectThreadForResume(.all))
    #expect(try parse("Hc-1") == .selectThreadForResume(ThreadSelector(process: .any, thread: .all)))
    #expect(try parse("Hg0") == .selectThreadForRegisters(.any))
    #expect(try parse("Hg3a") == .selectThreadForRegisters(ThreadSelector(process: .any, thread: .id(0x3a))))
    #expect(try parse("Hgp1f") == .selectThreadForRegisters(ThreadSelector(process: .id(0x1f), thread: .all)))
    #expect(try parse("Tp1f.20") == .isThreadAlive(thread(0x1f, 0x20)))
    #expect(try parse("qfThreadInfo") == .threadListFirst)
    #expect(try parse("qsThreadInfo") == .threadListNext)
    #expect(try parse("qC") == .currentThread)
    #expect(ThreadID(pid: 0x1f, tid: 0x20).matches(.all))
    #expect(!ThreadID(pid: 0x1f, tid: 0x20).matches(thread(0x1f, 0x21)))
  }

  @Test func queries() throws {
    let supported = try parse(
      "qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vfork-events+;exec-events+;vContSupported+;QThreadEvents+;no-resumed+;memory-tagging+;xmlRegisters=i386"
    )
    guard case .supported(let features) = supported else {
      Issue.record("not qSupported: \(supported)")
      return
    }
    #expect(features.count == 12)
    #expect(features.first == GDBFeature("multiprocess"))
    #expect(features.last == GDBFeature("xmlRegisters", .value("i386")))
    #expect(try parse("qSupported:foo-;bar?") == .supported([GDBFeature("foo", .unsupported), GDBFeature("bar", .query)]))
    #expect(try parse("qXfer:features:read:target.xml:0,ffb") == .readFeatures(annex: "target.xml", offset: 0, length: 0xffb))
    #expect(try parse("qXfer:auxv:read::0,1000") == .readAuxv(offset: 0, length: 0x1000))
    #expect(try parse("qXfer:exec-file:read:1f:0,ffb") == .readExecFile(pid: 0x1f, offset: 0, length: 0xffb))
    #expect(try parse("qXfer:exec-file:read::0,ffb") == .readExecFile(pid: nil, offset: 0, length: 0xffb))
    #expect(try parse("qXfer:libraries-svr4:read::0,ffb") == .unsupported("qXfer:libraries-svr4:read::0,ffb"))
    #expect(try parse("qAttached:1f") == .attached(pid: 0x1f))
    #expect(try parse("qAttached") == .attached(pid: nil))
    #expect(try parse("qRcmd,7768656e") == .monitor("when"))
    #expect(try parse("qOffsets") == .offsets)
    #expect(try parse("qSymbol::") == .symbol(":"))
    #expect(try parse("vMustReplyEmpty") == .mustReplyEmpty)
    #expect(try parse("QStartNoAckMode") == .startNoAckMode)
    #expect(try parse("QNonStop:0") == .nonStop(false))
    #expect(try parse("QCatchSyscalls:0") == .catchSyscalls(.none))
    #expect(try parse("QCatchSyscalls:1") == .catchSyscalls(.all))
    #expect(try parse("QCatchSyscalls:1;1;3c") == .catchSyscalls(.only([1, 0x3c])))
  }

  @Test func filesAndProcesses() throws {
    #expect(try parse("vFile:setfs:0") == .file(.setfs(pid: 0)))
    #expect(try parse("vFile:open:2f62696e2f6c73,0,1c0") == .file(.open(path: "/bin/ls", flags: 0, mode: 0o700)))
    #expect(try parse("vFile:pread:5,3fff,0") == .file(.pread(fd: 5, count: 0x3fff, offset: 0)))
    #expect(try parse("vFile:close:5") == .file(.close(fd: 5)))
    #expect(try parse("vFile:fstat:5") == .file(.fstat(fd: 5)))
    #expect(try parse("vFile:readlink:2f70726f632f31662f657865") == .file(.readlink(path: "/proc/1f/exe")))
    #expect(try parse("vFile:unlink:2f746d70") == .unsupported("vFile:unlink:2f746d70"))
    #expect(try parse("vKill;1f") == .kill(pid: 0x1f))
    #expect(try parse("k") == .kill(pid: nil))
    #expect(try parse("D;1f") == .detach(pid: 0x1f))
    #expect(try parse("D") == .detach(pid: nil))
  }

  @Test func unknownPacketsAreUnsupported() throws {
    for text in ["qTStatus", "qL1200000000000000000", "QEnvironmentReset", "vRun;2f62696e", "!", "", "bx", "QPassSignals:e;14"] {
      #expect(try parse(text) == .unsupported(text))
    }
  }

  @Test func malformedPacketsNameThePacketAndWhatWasExpected() {
    let cases: [(String, String)] = [
      ("m1000", #"malformed 'm' packet "m1000": expected ',<length>' after the address"#),
      ("mzz,1", #"malformed 'm' packet "mzz,1": expected the address in hex"#),
      ("m10,8x", #"malformed 'm' packet "m10,8x": unexpected "x" after the length"#),
      ("M10,2:01", #"malformed 'M' packet "M10,2:01": length 2 but 1 bytes given"#),
      ("M10,1:0", #"malformed 'M' packet "M10,1:0": expected the bytes as pairs of hex digits"#),
      ("p", #"malformed 'p' packet "p": expected the register number in hex"#),
      ("P10", #"malformed 'P' packet "P10": expected '=<value>' after the register number"#),
      ("Z5,1000,1", #"malformed 'Z5' packet "Z5,1000,1": expected a breakpoint type 0-4, not 5"#),
      ("z0,1000", #"malformed 'z0' packet "z0,1000": expected ',<kind>' after the address"#),
      ("vCont;x", #"malformed 'vCont' packet "vCont;x": expected an action c, s, C, S or t, not "x""#),
      ("vCont;c:p-2.1", #"malformed 'vCont' packet "vCont;c:p-2.1": expected '-1' for a process id: no other id is negative"#),
      ("Hx1", #"malformed 'Hx' packet "Hx1": expected 'g' or 'c' after 'H'"#),
      ("m1,fffffffffffffffff", #"malformed 'm' packet "m1,fffffffffffffffff": the length does not fit in 64 bits"#),
      ("qXfer:auxv:read::0", #"malformed 'qXfer:auxv:read' packet "qXfer:auxv:read::0": expected ',<length>' after the offset"#),
      ("qXfer:auxv:read:0,10", #"malformed 'qXfer:auxv:read' packet "qXfer:auxv:read:0,10": expected ':<offset>,<length>' after the annex"#),
      ("QCatchSyscalls:2", #"malformed 'QCatchSyscalls' packet "QCatchSyscalls:2": expected 0 or 1 after 'QCatchSyscalls:'"#),
      ("vFile:pread:5,10", #"malformed 'vFile:pread' packet "vFile:pread:5,10": expected ',<offset>' after the count"#),
      ("qRcmd,7", #"malformed 'qRcmd' packet "qRcmd,7": expected the command as pairs of hex digits"#),
    ]
    for (text, message) in cases {
      #expect(throws: GDBProtocolError.self) { try parse(text) }
      do {
        _ = try parse(text)
      } catch {
        #expect("\(error)" == message)
      }
    }
  }
}
