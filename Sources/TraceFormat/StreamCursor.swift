import CZstd

#if canImport(Glibc)
  import Glibc
#endif

/// Reads one stream file of a trace frame by frame, holding only the current frame.
final class StreamCursor {
  /// What the next read found.
  enum Next {
    case frame([UInt8])
    /// The file ends exactly after the previous frame.
    case end
    /// The file ends inside a frame: the recording stopped while writing it.
    case truncated
  }

  let name: String
  let path: String
  private let tracePath: String
  private let fd: Int32
  private let context: OpaquePointer
  private(set) var offset: UInt64 = 0
  private(set) var frameIndex = 0

  init(tracePath: String, name: String) throws(SystemCallError) {
    self.name = name
    self.tracePath = tracePath
    self.path = tracePath + "/" + name
    self.fd = try SystemCall.open(path, O_RDONLY)
    guard let context = ZSTD_createDCtx() else { fatalError("ZSTD_createDCtx: out of memory") }
    self.context = context
  }

  deinit {
    ZSTD_freeDCtx(context)
    SystemCall.close(fd)
  }

  /// Moves to the frame that starts at `offset`, which is frame `frameIndex` of the stream;
  /// the next read reads it.
  func move(toFrame frameIndex: Int, at offset: UInt64) {
    self.frameIndex = frameIndex
    self.offset = offset
  }

  func next() throws(TraceError) -> Next {
    let headerBytes = try read(count: StreamFrame.headerSize, at: offset)
    if headerBytes.isEmpty { return .end }
    if headerBytes.count < StreamFrame.headerSize { return .truncated }
    let header = StreamFrame.parseHeader(headerBytes)
    if let defect = StreamFrame.plausibilityDefect(header) {
      throw corrupted(defect.reason)
    }
    let body = try read(
      count: Int(header.compressedLength), at: offset + UInt64(StreamFrame.headerSize))
    if body.count < Int(header.compressedLength) { return .truncated }
    switch StreamFrame.decode(header, body: body, context: context) {
    case .success(let bytes):
      offset += UInt64(StreamFrame.headerSize + body.count)
      frameIndex += 1
      return .frame(bytes)
    case .failure(let defect):
      throw corrupted(defect.reason)
    }
  }

  /// A corruption error for the frame the cursor is at.
  func corrupted(_ reason: String) -> TraceError {
    .corrupted(path: tracePath, stream: name, frame: frameIndex, offset: offset, reason: reason)
  }

  private func read(count: Int, at offset: UInt64) throws(TraceError) -> [UInt8] {
    do {
      return try SystemCall.pread(fd, count: count, offset: offset, path: path)
    } catch {
      throw error.traceError
    }
  }
}
