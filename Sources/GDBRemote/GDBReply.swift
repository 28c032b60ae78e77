/// A reply to gdb, before framing; `payload` is what `PacketEncoder.encode` frames.
///
/// Binary parts (qXfer chunks, vFile:pread data) are left raw here: the encoder escapes
/// `$ # } *` for the whole payload, and the text parts never contain those bytes.
public enum GDBReply: Hashable, Sendable {
  case ok
  /// `Exx`; gdb shows the number only, so the server logs the reason itself.
  case error(UInt8)
  /// `E.text`, for the packets whose errors gdb prints (see `GDBSession.errorReply`).
  /// Characters outside printable ASCII are sent as `?`, as the manual wants ASCII.
  case errorText(String)
  /// "Not supported": the answer to `.unsupported` requests and `vMustReplyEmpty`.
  case empty
  /// A reply already in its wire form (`1` for qAttached, `Text=0;Data=0;Bss=0`).
  case text(String)
  /// `g`: every register in target-description order, unavailable ones as `xx`.
  case registers(RegisterFile)
  /// `p`: one register's bytes (little-endian), or nil when it is unavailable.
  case register([UInt8]?, size: Int)
  /// `m`: the bytes as hex.
  case memory([UInt8])
  case stop(StopReason)
  /// The qSupported answer; reverse execution is advertised only for a `ReversibleTarget`.
  case supported(packetSize: Int, reversible: Bool, evaluatesConditions: Bool = false)
  /// `vCont?`: the actions `vCont` accepts.
  case resumeActions
  /// `qfThreadInfo`/`qsThreadInfo`: `m` and the threads, or `l` when none are left.
  case threadList([ThreadID])
  /// `qC`
  case currentThread(ThreadID)
  /// A qXfer read: `m` and data when more follows, `l` and data for the last chunk.
  case transferChunk([UInt8], isLast: Bool)
  /// `O` and hex text: output gdb prints for a `monitor` command before its final reply.
  case consoleOutput(String)
  /// A vFile result: `F` result, `,errno` on failure, `;` and binary data for pread.
  case file(result: Int, errno: Int? = nil, attachment: [UInt8]? = nil)

  /// The chunk of `object` a qXfer read for `offset,length` asks for; past the end
  /// it is an empty last chunk, which is how gdb learns the object is complete.
  public static func transfer(_ object: [UInt8], offset: Int, length: Int) -> GDBReply {
    let start = min(offset, object.count)
    let end = start + min(length, object.count - start)
    return .transferChunk(Array(object[start..<end]), isLast: end == object.count)
  }

  public var payload: [UInt8] {
    switch self {
    case .ok: return Array("OK".utf8)
    case .error(let code): return Array(("E" + hex2(code)).utf8)
    case .errorText(let text):
      return Array("E.".utf8) + text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7f ? UInt8($0.value) : UInt8(ascii: "?") }
    case .empty: return []
    case .text(let text): return Array(text.utf8)
    case .registers(let file): return Array(file.wireForm.utf8)
    case .register(let bytes, let size):
      return Array((bytes.map(hexString) ?? String(repeating: "xx", count: size)).utf8)
    case .memory(let bytes): return Array(hexString(bytes).utf8)
    case .stop(let reason): return Array(Self.stopReply(reason).utf8)
    case .supported(let packetSize, let reversible, let evaluatesConditions):
      return Array(Self.supportedFeatures(packetSize: packetSize, reversible: reversible, evaluatesConditions: evaluatesConditions).utf8)
    case .resumeActions: return Array("vCont;c;C;s;S;t".utf8)
    case .threadList(let threads):
      if threads.isEmpty { return [UInt8(ascii: "l")] }
      return Array(("m" + threads.map(\.description).joined(separator: ",")).utf8)
    case .currentThread(let thread): return Array(("QC" + thread.description).utf8)
    case .transferChunk(let data, let isLast): return [UInt8(ascii: isLast ? "l" : "m")] + data
    case .consoleOutput(let text): return Array(("O" + hexString(Array(text.utf8))).utf8)
    case .file(let result, let errno, let attachment):
      var text = "F" + (result < 0 ? "-" + String(-result, radix: 16) : String(result, radix: 16))
      if let errno { text += "," + String(errno, radix: 16) }
      guard let attachment else { return Array(text.utf8) }
      return Array((text + ";").utf8) + attachment
    }
  }

  /// `T05thread:p1f.1f;swbreak:;`, `W00;process:1f`, `X0b;process:1f`.
  static func stopReply(_ reason: StopReason) -> String {
    switch reason {
    case .exited(let status, let pid): return "W" + hex2(status) + ";process:" + String(pid, radix: 16)
    case .killed(let signal, let pid): return "X" + hex2(signal) + ";process:" + String(pid, radix: 16)
    case .signal(let signal, let thread, let cause):
      var reply = "T" + hex2(signal) + "thread:" + thread.description + ";"
      switch cause {
      case nil: break
      case .softwareBreakpoint: reply += "swbreak:;"
      case .hardwareBreakpoint: reply += "hwbreak:;"
      case .watchpoint(let kind, let address):
        let name: String
        switch kind {
        case .readWatchpoint: name = "rwatch"
        case .accessWatchpoint: name = "awatch"
        // Breakpoint kinds never cause a watchpoint stop; write is the plain `watch`.
        case .writeWatchpoint, .software, .hardware: name = "watch"
        }
        reply += name + ":" + String(address, radix: 16) + ";"
      case .syscallEntry(let number): reply += "syscall_entry:" + String(number, radix: 16) + ";"
      case .syscallReturn(let number): reply += "syscall_return:" + String(number, radix: 16) + ";"
      case .historyBegin: reply += "replaylog:begin;"
      case .historyEnd: reply += "replaylog:end;"
      case .exec(let path): reply += "exec:" + hexString(Array(path.utf8)) + ";"
      }
      return reply
    }
  }

  /// What we tell gdb we can do. Reverse execution is only offered when the target
  /// can do it, since gdb otherwise lets the user try and reports a protocol error.
  static func supportedFeatures(packetSize: Int, reversible: Bool, evaluatesConditions: Bool = false) -> String {
    var features = [
      "PacketSize=" + String(packetSize, radix: 16),
      "qXfer:features:read+", "qXfer:auxv:read+", "qXfer:exec-file:read+",
      "vContSupported+", "QStartNoAckMode+", "multiprocess+", "swbreak+", "hwbreak+",
      "QCatchSyscalls+", "exec-events+",
    ]
    if reversible { features += ["ReverseContinue+", "ReverseStep+"] }
    if evaluatesConditions { features += ["ConditionalBreakpoints+"] }
    return features.joined(separator: ";")
  }
}

/// Bytes as lowercase hex, two digits each, in memory order.
func hexString(_ bytes: [UInt8]) -> String {
  var text = ""
  text.reserveCapacity(bytes.count * 2)
  for byte in bytes { text += hex2(byte) }
  return text
}
