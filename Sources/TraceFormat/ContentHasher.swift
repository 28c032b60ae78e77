import CXXHash

/// Streaming XXH3-128 over the bytes of a file.
struct ContentHasher: ~Copyable {
  private let state: OpaquePointer

  init() {
    guard let state = XXH3_createState() else { fatalError("XXH3_createState: out of memory") }
    XXH3_128bits_reset(state)
    self.state = state
  }

  deinit { XXH3_freeState(state) }

  mutating func update(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { _ = XXH3_128bits_update(state, $0.baseAddress, $0.count) }
  }

  consuming func finalize() -> String {
    let digest = XXH3_128bits_digest(state)
    return Self.hex(digest.high64) + Self.hex(digest.low64)
  }

  private static func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
  }
}
