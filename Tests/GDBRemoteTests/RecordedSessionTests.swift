import Testing

@testable import GDBRemote

/// Packets gdb 13.1 sent to a stub server advertising what rewind will advertise,
/// captured byte for byte (checksums included) while it connected, read target.xml,
/// set a catchpoint for write, a breakpoint, a hardware breakpoint and a watchpoint,
/// continued, reverse-continued, read the executable through vFile, ran
/// `monitor when` and killed.
@Suite struct RecordedSessionTests {
  static let session: [(wire: String, request: GDBRequest)] = {
    let all = ThreadSelector(process: .id(0x1f), thread: .all)
    return [
      (
        "$qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vfork-events+;exec-events+;vContSupported+;QThreadEvents+;no-resumed+;memory-tagging+;xmlRegisters=i386#77",
        .supported(
          [
            "multiprocess", "swbreak", "hwbreak", "qRelocInsn", "fork-events", "vfork-events", "exec-events",
            "vContSupported", "QThreadEvents", "no-resumed", "memory-tagging",
          ].map { GDBFeature($0) } + [GDBFeature("xmlRegisters", .value("i386"))])
      ),
      ("$vMustReplyEmpty#3a", .mustReplyEmpty),
      ("$QStartNoAckMode#b0", .startNoAckMode),
      ("$Hgp0.0#ad", .selectThreadForRegisters(.any)),
      ("$qXfer:features:read:target.xml:0,1000#0c", .readFeatures(annex: "target.xml", offset: 0, length: 0x1000)),
      ("$qXfer:features:read:target.xml:1000,1000#9d", .readFeatures(annex: "target.xml", offset: 0x1000, length: 0x1000)),
      ("$qTStatus#49", .unsupported("qTStatus")),
      ("$?#3f", .haltReason),
      ("$qfThreadInfo#bb", .threadListFirst),
      ("$qsThreadInfo#c8", .threadListNext),
      ("$qAttached:1f#60", .attached(pid: 0x1f)),
      ("$Hc-1#09", .selectThreadForResume(ThreadSelector(process: .any, thread: .all))),
      ("$g#67", .readRegisters),
      ("$m0,1#fa", .readMemory(address: 0, count: 1)),
      ("$m0,9#02", .readMemory(address: 0, count: 9)),
      ("$m401136,1#f9", .readMemory(address: 0x401136, count: 1)),
      ("$m404028,4#ff", .readMemory(address: 0x404028, count: 4)),
      ("$QCatchSyscalls:1;1#59", .catchSyscalls(.only([1]))),
      ("$Z0,401136,1#42", .insertBreakpoint(Breakpoint(.software, address: 0x401136, size: 1))),
      ("$Z1,401140,1#3e", .insertBreakpoint(Breakpoint(.hardware, address: 0x401140, size: 1))),
      ("$Z2,404028,4#4a", .insertBreakpoint(Breakpoint(.writeWatchpoint, address: 0x404028, size: 4))),
      ("$vCont?#49", .resumeActionsQuery),
      ("$vCont;c:p1f.-1#75", .resume([ResumeAction(.continue, threads: all)], direction: .forward)),
      ("$QCatchSyscalls:0#ec", .catchSyscalls(.none)),
      ("$z0,401136,1#62", .removeBreakpoint(Breakpoint(.software, address: 0x401136, size: 1))),
      ("$z1,401140,1#5e", .removeBreakpoint(Breakpoint(.hardware, address: 0x401140, size: 1))),
      ("$z2,404028,4#6a", .removeBreakpoint(Breakpoint(.writeWatchpoint, address: 0x404028, size: 4))),
      ("$Hcp1f.0#10", .selectThreadForResume(ThreadSelector(process: .id(0x1f), thread: .any))),
      ("$bc#c5", .resume([ResumeAction(.continue)], direction: .backward)),
      ("$qThreadExtraInfo,p1f.1f#51", .unsupported("qThreadExtraInfo,p1f.1f")),
      ("$qP0000001f000000000000001f#af", .unsupported("qP0000001f000000000000001f")),
      ("$qXfer:auxv:read::0,1000#6b", .readAuxv(offset: 0, length: 0x1000)),
      ("$qXfer:exec-file:read:1f:0,1000#b0", .readExecFile(pid: 0x1f, offset: 0, length: 0x1000)),
      // gdb probes whether vFile works by opening "just probing".
      ("$vFile:setfs:0#bf", .file(.setfs(pid: 0))),
      ("$vFile:open:6a7573742070726f62696e67,0,1c0#ed", .file(.open(path: "just probing", flags: 0, mode: 0o700))),
      ("$vFile:setfs:1f#26", .file(.setfs(pid: 0x1f))),
      ("$vFile:open:2f62696e2f74727565,0,0#21", .file(.open(path: "/bin/true", flags: 0, mode: 0))),
      ("$qRcmd,7768656e#05", .monitor("when")),
      ("$vKill;1f#d4", .kill(pid: 0x1f)),
    ]
  }()

  /// gdb's acks and a ^C interleaved with the packets, as on the wire.
  static let wire: [UInt8] = session.flatMap { Array(("+" + $0.wire).utf8) } + [0x03]

  func requests(chunks: [Int]) throws -> [GDBRequest] {
    var decoder = PacketDecoder()
    var frames: [PacketDecoder.Frame] = []
    var start = 0
    for size in chunks where start < Self.wire.count {
      let end = min(Self.wire.count, start + size)
      frames += decoder.feed(Self.wire[start..<end])
      start = end
    }
    frames += decoder.feed(Self.wire[start...])
    return try frames.compactMap { frame throws -> GDBRequest? in
      switch frame {
      case .packet(let payload): return try GDBRequest(parsing: payload)
      case .interrupt: return .interrupt
      case .ack: return nil
      case .nack, .malformed: throw GDBProtocolError(packetName: "?", payload: "", expectation: "\(frame)")
      }
    }
  }

  @Test func everyPacketParsesToItsRequest() throws {
    #expect(try requests(chunks: []) == Self.session.map(\.request) + [.interrupt])
  }

  @Test func theRequestsAreTheSameInAnyChunking() throws {
    let whole = try requests(chunks: [])
    #expect(try requests(chunks: Array(repeating: 1, count: Self.wire.count)) == whole)
    for _ in 0..<100 {
      #expect(try requests(chunks: (0..<Self.wire.count).map { _ in Int.random(in: 0...40) }) == whole)
    }
  }

  /// Replies as the stub framed them (checksums from Python's sum), which gdb accepted:
  /// it printed "Catchpoint 1 (call to syscall write)" for the stop reply.
  @Test func repliesGDBAccepted() {
    let thread = ThreadID(pid: 0x1f, tid: 0x1f)
    #expect(PacketEncoder.encode(GDBReply.stop(.signal(5, thread: thread, cause: .syscallEntry(1))).payload) == Array("$T05thread:p1f.1f;syscall_entry:1;#a4".utf8))
    #expect(PacketEncoder.encode(GDBReply.currentThread(thread).payload) == Array("$QCp1f.1f#60".utf8))
  }
}
