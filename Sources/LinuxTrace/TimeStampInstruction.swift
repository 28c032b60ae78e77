/// An RDTSC or RDTSCP instruction, which traps with SIGSEGV under `PR_SET_TSC, PR_TSC_SIGSEGV`.
public enum TimeStampInstruction: Sendable, Equatable {
  case rdtsc  // 0F 31
  case rdtscp  // 0F 01 F9

  /// Decodes the instruction starting at `bytes[0]`, or nil when it is neither.
  public init?(bytes: [UInt8]) {
    if bytes.count >= 2 && bytes[0] == 0x0F && bytes[1] == 0x31 {
      self = .rdtsc
    } else if bytes.count >= 3 && bytes[0] == 0x0F && bytes[1] == 0x01 && bytes[2] == 0xF9 {
      self = .rdtscp
    } else {
      return nil
    }
  }

  public var length: UInt64 { self == .rdtsc ? 2 : 3 }

  /// The si_code of the SIGSEGV a trapped RDTSC raises (`SI_KERNEL`, a #GP fault).
  public static let trapSignalCode: Int32 = 0x80
}

extension Tracee {
  /// The time-stamp instruction at `address`, if there is one.
  public func timeStampInstruction(at address: UInt64) -> TimeStampInstruction? {
    guard let bytes = try? readMemory(at: address, count: 3) else { return nil }
    return TimeStampInstruction(bytes: bytes)
  }
}
