/// An ioctl request number, with its `_IOC` fields (`<asm-generic/ioctl.h>`: dir:2 size:14
/// type:8 nr:8, from the top bit down).
///
/// Old requests (the terminal ones, 0x54xx) predate the encoding and carry no direction or
/// size, so they are listed by hand with what they write; a newer one that says `_IOC_READ`
/// is trusted to write its encoded size.
public struct IoctlRequest: Hashable, Sendable {
  public let rawValue: UInt64

  public init(_ rawValue: UInt64) {
    // The kernel takes `unsigned int cmd`; glibc sign-extends some requests to 64 bits.
    self.rawValue = rawValue & 0xffff_ffff
  }

  /// `_IOC_DIR`: bit 0 is `_IOC_WRITE` (the kernel reads from the program), bit 1 `_IOC_READ`.
  public var direction: UInt64 { rawValue >> 30 & 0x3 }
  public var size: Int { Int(rawValue >> 16 & 0x3fff) }
  public var type: UInt64 { rawValue >> 8 & 0xff }
  public var number: UInt64 { rawValue & 0xff }

  /// The `_IOC` fields as C would write them: `_IOC(_IOC_READ, 0x54, 0x2a, 0x2c)`.
  public var decoded: String {
    let dir =
      switch direction {
      case 0: "_IOC_NONE"
      case 1: "_IOC_WRITE"
      case 2: "_IOC_READ"
      default: "_IOC_READ|_IOC_WRITE"
      }
    return "_IOC(\(dir), \(hex(type)), \(hex(number)), \(hex(UInt64(size))))"
  }

  /// The C name (`TCGETS`), if rewind knows the request.
  public var name: String? { Self.known[rawValue]?.name }

  /// How many bytes the kernel writes at the argument on success, or nil when the request is
  /// unknown and its encoding does not say.
  public var writtenByteCount: Int? {
    if let known = Self.known[rawValue] { return known.writes }
    if direction & 2 != 0 && size > 0 { return size }
    // `_IOW` requests only read from the program; we trust the encoding as strace does.
    if direction == 1 && size > 0 { return 0 }
    return nil
  }

  /// How many bytes the kernel reads at the argument, for `rewind dump`.
  public var readByteCount: Int {
    if let known = Self.known[rawValue] { return known.reads }
    return direction & 1 != 0 ? size : 0
  }

  /// The argument is a number, not an address (FICLONE's source descriptor): strace prints
  /// it in decimal.
  public var takesNumber: Bool { Self.known[rawValue]?.number ?? false }

  private struct Known {
    var name: String
    var writes: Int
    var reads: Int = 0
    var number = false
  }

  private static let known: [UInt64: Known] = [
    0x4004_9409: Known(name: "BTRFS_IOC_CLONE or FICLONE", writes: 0, number: true),
    0x5401: Known(name: "TCGETS", writes: 36),
    0x5402: Known(name: "TCSETS", writes: 0, reads: 36),
    0x5403: Known(name: "TCSETSW", writes: 0, reads: 36),
    0x5404: Known(name: "TCSETSF", writes: 0, reads: 36),
    0x5405: Known(name: "TCGETA", writes: 18),
    0x5406: Known(name: "TCSETA", writes: 0, reads: 18),
    0x5407: Known(name: "TCSETAW", writes: 0, reads: 18),
    0x5408: Known(name: "TCSETAF", writes: 0, reads: 18),
    0x5409: Known(name: "TCSBRK", writes: 0),
    0x540a: Known(name: "TCXONC", writes: 0),
    0x540b: Known(name: "TCFLSH", writes: 0),
    0x540c: Known(name: "TIOCEXCL", writes: 0),
    0x540d: Known(name: "TIOCNXCL", writes: 0),
    0x540e: Known(name: "TIOCSCTTY", writes: 0),
    0x540f: Known(name: "TIOCGPGRP", writes: 4),
    0x5410: Known(name: "TIOCSPGRP", writes: 0, reads: 4),
    0x5411: Known(name: "TIOCOUTQ", writes: 4),
    0x5412: Known(name: "TIOCSTI", writes: 0, reads: 1),
    0x5413: Known(name: "TIOCGWINSZ", writes: 8),
    0x5414: Known(name: "TIOCSWINSZ", writes: 0, reads: 8),
    0x5415: Known(name: "TIOCMGET", writes: 4),
    0x5416: Known(name: "TIOCMBIS", writes: 0, reads: 4),
    0x5417: Known(name: "TIOCMBIC", writes: 0, reads: 4),
    0x5418: Known(name: "TIOCMSET", writes: 0, reads: 4),
    0x5419: Known(name: "TIOCGSOFTCAR", writes: 4),
    0x541a: Known(name: "TIOCSSOFTCAR", writes: 0, reads: 4),
    0x541b: Known(name: "FIONREAD", writes: 4),
    0x541d: Known(name: "TIOCCONS", writes: 0),
    0x5420: Known(name: "TIOCPKT", writes: 0, reads: 4),
    0x5421: Known(name: "FIONBIO", writes: 0, reads: 4),
    0x5422: Known(name: "TIOCNOTTY", writes: 0),
    0x5423: Known(name: "TIOCSETD", writes: 0, reads: 4),
    0x5424: Known(name: "TIOCGETD", writes: 4),
    0x5425: Known(name: "TCSBRKP", writes: 0),
    0x5427: Known(name: "TIOCSBRK", writes: 0),
    0x5428: Known(name: "TIOCCBRK", writes: 0),
    0x5429: Known(name: "TIOCGSID", writes: 4),
    0x802c_542a: Known(name: "TCGETS2", writes: 44),
    0x402c_542b: Known(name: "TCSETS2", writes: 0, reads: 44),
    0x402c_542c: Known(name: "TCSETSW2", writes: 0, reads: 44),
    0x402c_542d: Known(name: "TCSETSF2", writes: 0, reads: 44),
    0x8004_5430: Known(name: "TIOCGPTN", writes: 4),
    0x4004_5431: Known(name: "TIOCSPTLCK", writes: 0, reads: 4),
    0x8004_5432: Known(name: "TIOCGDEV", writes: 4),
    0x8004_5438: Known(name: "TIOCGPKT", writes: 4),
    0x8004_5439: Known(name: "TIOCGPTLCK", writes: 4),
    0x5441: Known(name: "TIOCGPTPEER", writes: 0),
    0x5450: Known(name: "FIONCLEX", writes: 0),
    0x5451: Known(name: "FIOCLEX", writes: 0),
    0x5452: Known(name: "FIOASYNC", writes: 0, reads: 4),
    0x5456: Known(name: "TIOCGLCKTRMIOS", writes: 36),
    0x5457: Known(name: "TIOCSLCKTRMIOS", writes: 0, reads: 36),
    0x5460: Known(name: "FIOQSIZE", writes: 8),
    0x0001: Known(name: "FIBMAP", writes: 4, reads: 4),
    0x0002: Known(name: "FIGETBSZ", writes: 4),
    0x125e: Known(name: "BLKROGET", writes: 4),
    0x1260: Known(name: "BLKGETSIZE", writes: 8),
    0x1268: Known(name: "BLKSSZGET", writes: 4),
    0x8008_1270: Known(name: "BLKBSZGET", writes: 8),
    0x8008_1272: Known(name: "BLKGETSIZE64", writes: 8),
    // Encoded with `long` but the kernel copies an int.
    0x8008_6601: Known(name: "FS_IOC_GETFLAGS", writes: 4),
    0x4008_6602: Known(name: "FS_IOC_SETFLAGS", writes: 0, reads: 4),
    // struct ifreq (40 bytes) in and out.
    0x8910: Known(name: "SIOCGIFNAME", writes: 40, reads: 40),
    0x8913: Known(name: "SIOCGIFFLAGS", writes: 40, reads: 40),
    0x8915: Known(name: "SIOCGIFADDR", writes: 40, reads: 40),
    0x8921: Known(name: "SIOCGIFMTU", writes: 40, reads: 40),
    0x8927: Known(name: "SIOCGIFHWADDR", writes: 40, reads: 40),
    0x8933: Known(name: "SIOCGIFINDEX", writes: 40, reads: 40),
  ]
}
