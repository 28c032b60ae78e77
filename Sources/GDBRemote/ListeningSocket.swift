import Glibc

/// A TCP socket listening for gdb. Binding happens at init, so a caller can print the
/// `target remote` command (with the real port, when it asked for port 0) before
/// anyone connects. The C calls are `getaddrinfo`, `socket`, `bind`, `listen`, `accept`.
final class ListeningSocket {
  let descriptor: CInt
  let port: UInt16

  /// Binds `host:port` with `SO_REUSEADDR`, so a server restarted right after a session
  /// is not refused while the old connection sits in TIME_WAIT.
  init(host: String, port: UInt16) throws(GDBServerError) {
    let address = Self.display(host: host, port: port)
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = CInt(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
    var list: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(host, String(port), &hints, &list)
    guard status == 0, let first = list else {
      throw GDBServerError("cannot listen on \(address): \(String(cString: gai_strerror(status)))")
    }
    defer { freeaddrinfo(list) }

    var lastError: CInt = 0
    var candidate: UnsafeMutablePointer<addrinfo>? = first
    while let info = candidate {
      candidate = info.pointee.ai_next
      let fd = socket(info.pointee.ai_family, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
      guard fd >= 0 else {
        lastError = errno
        continue
      }
      var one: CInt = 1
      _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size))
      guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0, listen(fd, 4) == 0 else {
        lastError = errno
        close(fd)
        continue
      }
      // Non-blocking, so refusing a client that already went away cannot block the
      // session in accept(2) (poll can report a connection that is gone by then).
      _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
      descriptor = fd
      self.port = Self.boundPort(of: fd)
      return
    }
    throw GDBServerError("cannot listen on \(address): \(String(cString: strerror(lastError)))")
  }

  deinit { close(descriptor) }

  /// Waits for a client; the connection is set up for small packets sent one by one.
  /// Waits for a client; nil once `stopWaiting` (asked every 100 ms) says to give up.
  func accept(stopWaiting: (() -> Bool)? = nil) throws(GDBServerError) -> CInt? {
    while true {
      if let fd = try acceptPending() { return fd }
      if let stopWaiting, stopWaiting() { return nil }
      var listening = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
      if poll(&listening, 1, stopWaiting == nil ? -1 : 100) < 0 && errno != EINTR {
        throw GDBServerError("cannot wait for gdb on port \(port): \(String(cString: strerror(errno)))")
      }
    }
  }

  /// A client waiting in the backlog, or nil when there is none (any more).
  func acceptPending() throws(GDBServerError) -> CInt? {
    while true {
      let fd = Glibc.accept(descriptor, nil, nil)
      if fd >= 0 {
        // Glibc's module map hides accept4, so the flags come right after: close-on-exec
        // so a tracee the target spawns cannot hold gdb's connection open, and blocking
        // (Linux does not pass O_NONBLOCK on from the listener, but say so).
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        // Every reply is one small write that gdb waits for; Nagle would hold it back.
        var one: CInt = 1
        _ = setsockopt(fd, CInt(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<CInt>.size))
        return fd
      }
      switch errno {
      case EINTR: continue
      // ECONNABORTED: the client gave up between connecting and our accept.
      case EAGAIN, EWOULDBLOCK, ECONNABORTED: return nil
      default:
        throw GDBServerError("cannot accept a gdb connection on port \(port): \(String(cString: strerror(errno)))")
      }
    }
  }

  /// `host:port`, with brackets around an IPv6 address as gdb's `target remote` wants it.
  static func display(host: String, port: UInt16) -> String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
  }

  private static func boundPort(of fd: CInt) -> UInt16 {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let status = withUnsafeMutablePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    precondition(status == 0, "getsockname on our own listening socket failed: \(errno)")
    // sin_port and sin6_port sit at the same offset, in network byte order.
    let networkOrder = withUnsafeBytes(of: &storage) { $0.load(fromByteOffset: 2, as: UInt16.self) }
    return UInt16(bigEndian: networkOrder)
  }
}

/// Why the server could not listen, accept, or talk to gdb; the message names the
/// address and the system's reason.
public struct GDBServerError: Error, Equatable, Sendable, CustomStringConvertible {
  public var message: String

  public init(_ message: String) { self.message = message }

  public var description: String { message }
}
