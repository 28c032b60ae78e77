import LinuxTrace

/// What a watch traps on: x86 data breakpoints trap on writes, or on reads and writes alike
/// (the CPU does not say which; a changed value shows a write).
public enum WatchAccess: String, Sendable {
  case write
  case readOrWrite = "read-or-write"

  /// DR7's R/W field for a slot.
  var controlBits: UInt64 { self == .write ? 0b01 : 0b11 }
}

/// A range of memory to watch, as the user named it.
public struct WatchRange: Sendable, Equatable {
  public var address: UInt64
  public var length: Int
  public var access: WatchAccess
  /// How the user named it (`counter`, `cfg->limits.max`, `0x4c2f10`).
  public var label: String

  public init(address: UInt64, length: Int, access: WatchAccess, label: String) {
    self.address = address
    self.length = length
    self.access = access
    self.label = label
  }
}

/// One debug register's share of a range: 1, 2, 4 or 8 bytes aligned to their length.
public struct DebugRegisterSlot: Sendable, Equatable {
  public var address: UInt64
  public var length: Int
  public var access: WatchAccess
  /// The range (an index into the plan's ranges) it covers part of.
  public var range: Int
}

public struct WatchPlanError: Error, CustomStringConvertible {
  public var description: String
}

/// How ranges are laid over x86's four debug registers, and DR7 for them.
public struct DebugRegisterPlan: Sendable, Equatable {
  public static let registerCount = 4
  public private(set) var ranges: [WatchRange] = []
  public private(set) var slots: [DebugRegisterSlot?] = Array(repeating: nil, count: registerCount)

  public init() {}

  /// The aligned pieces of 1, 2, 4 or 8 bytes that cover `length` bytes at `address`,
  /// largest first where alignment allows.
  public static func pieces(address: UInt64, length: Int) -> [(address: UInt64, length: Int)] {
    var result: [(UInt64, Int)] = []
    var at = address
    var left = length
    while left > 0 {
      let size = [8, 4, 2, 1].first { at % UInt64($0) == 0 && $0 <= left }!
      result.append((at, size))
      at += UInt64(size)
      left -= size
    }
    return result
  }

  public var freeSlots: Int { slots.filter { $0 == nil }.count }

  /// Adds `range`, split over free registers; throws, changing nothing, when they run out.
  public mutating func add(_ range: WatchRange) throws(WatchPlanError) {
    guard range.length > 0 else { throw WatchPlanError(description: "a watch needs a length of at least 1 byte") }
    let pieces = Self.pieces(address: range.address, length: range.length)
    guard pieces.count <= freeSlots else {
      let used = Self.registerCount - freeSlots
      throw WatchPlanError(
        description:
          "\(range.label) (\(range.length) bytes at \(hex(range.address))) needs \(pieces.count) debug register\(pieces.count == 1 ? "" : "s") "
          + "(x86 watches 1, 2, 4 or 8 aligned bytes with each), and \(used == 0 ? "there are only \(Self.registerCount)" : "\(used) of the \(Self.registerCount) are taken"): "
          + "watch fewer or shorter ranges")
    }
    let index = ranges.count
    ranges.append(range)
    var free = slots.indices.filter { slots[$0] == nil }.makeIterator()
    for piece in pieces {
      slots[free.next()!] = DebugRegisterSlot(address: piece.address, length: piece.length, access: range.access, range: index)
    }
  }

  /// Removes the range that starts at `address`; false when none does.
  public mutating func remove(startingAt address: UInt64) -> Bool {
    guard let index = ranges.firstIndex(where: { $0.address == address }) else { return false }
    ranges.remove(at: index)
    slots = slots.map { slot in
      guard var slot, slot.range != index else { return nil }
      if slot.range > index { slot.range -= 1 }
      return slot
    }
    return true
  }

  /// DR7: each used slot enabled locally (L0-L3) with its R/W and LEN fields.
  public var control: UInt64 {
    var value: UInt64 = 0
    for (i, slot) in slots.enumerated() {
      guard let slot else { continue }
      let lengthBits: UInt64 =
        switch slot.length {
        case 1: 0b00
        case 2: 0b01
        case 8: 0b10
        default: 0b11
        }
      value |= 1 << UInt64(2 * i)
      value |= (slot.access.controlBits | lengthBits << 2) << UInt64(16 + 4 * i)
    }
    return value
  }
}

