/// Parsing of the `q` and `Q` packets, whose names are words rather than letters.
extension GDBRequest {
  static func parseQuery(_ text: String, _ payload: [UInt8]) throws(GDBProtocolError) -> GDBRequest {
    switch text {
    case "qfThreadInfo": return .threadListFirst
    case "qsThreadInfo": return .threadListNext
    case "qC": return .currentThread
    case "qAttached": return .attached(pid: nil)
    case "qOffsets": return .offsets
    case "QStartNoAckMode": return .startNoAckMode
    case "qSupported": return .supported([])
    default: break
    }
    func scanner(_ name: String, skipping prefix: String) -> PayloadScanner {
      PayloadScanner(payload, packetName: name, skipping: prefix.utf8.count)
    }
    if text.hasPrefix("qSupported:") {
      let list = text.dropFirst("qSupported:".count)
      return .supported(list.split(separator: ";").map(GDBFeature.init(parsing:)))
    }
    if text.hasPrefix("qAttached:") {
      var s = scanner("qAttached", skipping: "qAttached:")
      let pid = try s.pid()
      try s.expectEnd(after: "the process id")
      return .attached(pid: pid)
    }
    if text.hasPrefix("qRcmd,") {
      var s = scanner("qRcmd", skipping: "qRcmd,")
      return .monitor(String(decoding: try s.hexBytes("the command"), as: UTF8.self))
    }
    if text.hasPrefix("qSymbol:") {
      return .symbol(String(text.dropFirst("qSymbol:".count)))
    }
    if text.hasPrefix("QNonStop:") {
      switch text.dropFirst("QNonStop:".count) {
      case "0": return .nonStop(false)
      case "1": return .nonStop(true)
      default: throw scanner("QNonStop", skipping: "QNonStop:").fail("expected 0 or 1")
      }
    }
    if text.hasPrefix("QCatchSyscalls:") { return try parseCatchSyscalls(payload) }
    if text.hasPrefix("qXfer:") { return try parseTransfer(text, payload) }
    return .unsupported(text)
  }

  /// `QCatchSyscalls:0`, `QCatchSyscalls:1`, `QCatchSyscalls:1;sysno;sysno…` (hex).
  private static func parseCatchSyscalls(_ payload: [UInt8]) throws(GDBProtocolError) -> GDBRequest {
    var s = PayloadScanner(payload, packetName: "QCatchSyscalls", skipping: "QCatchSyscalls:".utf8.count)
    if s.skip("0") {
      try s.expectEnd(after: "0")
      return .catchSyscalls(.none)
    }
    guard s.skip("1") else { throw s.fail("expected 0 or 1 after 'QCatchSyscalls:'") }
    var numbers: [Int] = []
    while s.skip(";") {
      numbers.append(try s.hexCount("a system call number", limit: 0xffff))
    }
    try s.expectEnd(after: "the system call numbers")
    return .catchSyscalls(numbers.isEmpty ? .all : .only(numbers))
  }

  /// `qXfer:object:read:annex:offset,length` for the objects we serve.
  private static func parseTransfer(_ text: String, _ payload: [UInt8]) throws(GDBProtocolError) -> GDBRequest {
    let objects = ["features", "auxv", "exec-file"]
    guard let object = objects.first(where: { text.hasPrefix("qXfer:\($0):read:") }) else {
      return .unsupported(text)
    }
    let prefix = "qXfer:\(object):read:"
    var s = PayloadScanner(payload, packetName: "qXfer:\(object):read", skipping: prefix.utf8.count)
    guard let annexBytes = s.field(until: ":") else {
      throw s.fail("expected ':<offset>,<length>' after the annex")
    }
    let annex = String(decoding: annexBytes, as: UTF8.self)
    let offset = try s.hexCount("the offset")
    try s.expect(",", "<length>' after the offset")
    let length = try s.hexCount("the length")
    try s.expectEnd(after: "the length")
    switch object {
    case "features":
      return .readFeatures(annex: annex, offset: offset, length: length)
    case "auxv":
      guard annex.isEmpty else { throw s.fail("expected an empty annex, not \"\(annex)\"") }
      return .readAuxv(offset: offset, length: length)
    default:
      if annex.isEmpty { return .readExecFile(pid: nil, offset: offset, length: length) }
      guard let pid = Int32(annex, radix: 16), pid > 0 else {
        throw s.fail("expected a hex process id as the annex, not \"\(annex)\"")
      }
      return .readExecFile(pid: pid, offset: offset, length: length)
    }
  }
}
