import CXXHash
import CZstd

/// One frame of a stream: `u32 compressedLength | u32 uncompressedLength | u32 checksum |
/// zstd bytes`. See `TraceWriter` for the stream layout and why frames are independent.
enum StreamFrame {
  static let headerSize = 12

  /// The fields of a frame header, as read from the file.
  struct Header {
    var compressedLength: UInt32
    var uncompressedLength: UInt32
    var checksum: UInt32
  }

  /// XXH32 (seed 0) of the compressed bytes: cheap next to zstd, and it turns a flipped bit
  /// into "corrupted frame N" instead of garbage events or a zstd error about some byte.
  static func checksum(_ compressed: UnsafeRawBufferPointer) -> UInt32 {
    UInt32(XXH32(compressed.baseAddress, compressed.count, 0))
  }

  /// Compresses `uncompressed` into a whole frame, header included. An empty payload is an
  /// empty frame (both lengths 0, no zstd bytes), so a frame with no data costs 12 bytes.
  static func encode(_ uncompressed: [UInt8], context: OpaquePointer, level: Int32) -> [UInt8] {
    precondition(
      uncompressed.count <= Int(UInt32.max),
      "a trace frame holds at most 4 GiB, this one would hold \(uncompressed.count) bytes")
    if uncompressed.isEmpty {
      var empty = ByteWriter(reservingCapacity: headerSize)
      empty.write(UInt32(0))
      empty.write(UInt32(0))
      empty.write(checksum(UnsafeRawBufferPointer(start: nil, count: 0)))
      return empty.bytes
    }
    let bound = ZSTD_compressBound(uncompressed.count)
    var frame = [UInt8](repeating: 0, count: headerSize + bound)
    let compressedCount = frame.withUnsafeMutableBytes { out in
      uncompressed.withUnsafeBytes { input in
        ZSTD_compressCCtx(
          context, out.baseAddress! + headerSize, bound, input.baseAddress, input.count, level)
      }
    }
    // Compression into a compressBound-sized buffer cannot fail except for a bad parameter.
    precondition(ZSTD_isError(compressedCount) == 0, "zstd: \(errorName(compressedCount))")
    frame.removeLast(bound - compressedCount)
    let sum = frame.withUnsafeBytes {
      checksum(UnsafeRawBufferPointer(rebasing: $0[headerSize...]))
    }
    var header = ByteWriter(reservingCapacity: headerSize)
    header.write(UInt32(compressedCount))
    header.write(UInt32(uncompressed.count))
    header.write(sum)
    frame.replaceSubrange(0..<headerSize, with: header.bytes)
    return frame
  }

  static func parseHeader(_ bytes: [UInt8]) -> Header {
    var reader = ByteReader(bytes)
    // The caller passes exactly headerSize bytes, so these reads cannot overrun.
    return Header(
      compressedLength: (try? reader.readUInt32()) ?? 0,
      uncompressedLength: (try? reader.readUInt32()) ?? 0,
      checksum: (try? reader.readUInt32()) ?? 0)
  }

  /// Checks and decompresses a frame body; returns the reason when it is not a valid frame.
  static func decode(_ header: Header, body: [UInt8], context: OpaquePointer)
    -> Result<[UInt8], FrameDefect>
  {
    let actual = body.withUnsafeBytes { checksum($0) }
    if actual != header.checksum {
      return .failure(
        FrameDefect(
          reason: "checksum is \(hex(actual)) but the frame header says \(hex(header.checksum))"))
    }
    if header.uncompressedLength == 0 {
      return header.compressedLength == 0
        ? .success([]) : .failure(FrameDefect(reason: "an empty frame has compressed bytes"))
    }
    // The frame header's length is not under the checksum: allocate only what the zstd frame
    // itself declares (rewind writes the content size), not what a damaged header claims.
    let declared = body.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
    switch declared {
    case ZSTD_CONTENTSIZE_ERROR:
      return .failure(FrameDefect(reason: "its bytes do not start a zstd frame"))
    case ZSTD_CONTENTSIZE_UNKNOWN:
      return .failure(FrameDefect(reason: "its zstd frame does not declare its size"))
    case UInt64(header.uncompressedLength):
      break
    default:
      return .failure(
        FrameDefect(
          reason: "its zstd frame holds \(declared) bytes but the header says "
            + "\(header.uncompressedLength)"))
    }
    var output = [UInt8](repeating: 0, count: Int(header.uncompressedLength))
    let produced = output.withUnsafeMutableBytes { out in
      body.withUnsafeBytes { input in
        ZSTD_decompressDCtx(context, out.baseAddress, out.count, input.baseAddress, input.count)
      }
    }
    if ZSTD_isError(produced) != 0 {
      return .failure(FrameDefect(reason: "zstd: \(errorName(produced))"))
    }
    if produced != Int(header.uncompressedLength) {
      return .failure(
        FrameDefect(
          reason: "decompressed to \(produced) bytes but the header says "
            + "\(header.uncompressedLength)"))
    }
    return .success(output)
  }

  /// Whether a header's lengths are plausible before trusting them to size a read.
  static func plausibilityDefect(_ header: Header) -> FrameDefect? {
    let bound = ZSTD_compressBound(Int(header.uncompressedLength))
    if Int(header.compressedLength) > bound {
      return FrameDefect(
        reason: "compressed length \(header.compressedLength) exceeds what zstd can produce "
          + "from \(header.uncompressedLength) bytes (\(bound))")
    }
    if UInt64(header.uncompressedLength) > UInt64(header.compressedLength) * maximumRatio {
      return FrameDefect(
        reason: "uncompressed length \(header.uncompressedLength) exceeds what zstd can "
          + "expand \(header.compressedLength) bytes to")
    }
    return nil
  }

  /// zstd's best ratio: a run-length block turns 4 bytes (3 of them its header) into at most
  /// a whole block of 128 KiB.
  static let maximumRatio: UInt64 = 128 * 1024 / 4

  private static func errorName(_ code: Int) -> String {
    String(cString: ZSTD_getErrorName(code))
  }

  private static func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
}

/// Why a frame could not be decoded.
struct FrameDefect: Error {
  var reason: String
}
