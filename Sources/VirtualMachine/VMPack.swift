import Foundation

extension VMTrace {
  /// `rewind pack` on a VM trace: the kernel and initrd are already copies; a disk overlay's
  /// backing image is copied in (as `disk-base.<format>`) and the overlay pointed at it by a
  /// relative name, so the directory replays anywhere. Returns what was done.
  public func pack(qemu: QEMUInstallation) throws -> String {
    try checkFiles()
    guard var disk = header.configuration.disk, let backing = disk.backingFile, backing.hasPrefix("/"), let format = disk.backingFormat else {
      return "packed \(directory): already self-contained (kernel, initrd\(header.configuration.disk == nil ? "" : ", disk") and replay log are in it)"
    }
    guard FileManager.default.fileExists(atPath: backing) else {
      throw VMError(.badTrace, "the disk image '\(backing)' under the trace's overlay is gone; it cannot be packed")
    }
    let name = "disk-base.\(format)"
    let copy = directory + "/" + name
    try copyFile(backing, to: copy)
    try runTool([qemu.image, "rebase", "-u", "-b", name, "-F", format, directory + "/disk.qcow2"], what: "point the overlay at the copied disk")
    let attributes = try FileManager.default.attributesOfItem(atPath: copy)
    disk.backingFile = name
    disk.backingSize = (attributes[.size] as? NSNumber)?.uint64Value
    disk.backingModified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970
    var newHeader = header
    newHeader.configuration.disk = disk
    try Self.writeJSON(newHeader, to: directory + "/" + Self.headerName)
    return "packed \(directory): copied the disk image \(backing) into it as \(name); it can be copied anywhere and replayed there"
  }

  /// The path of the disk overlay's backing image (relative names are the trace's own).
  public var diskBackingPath: String? {
    guard let backing = header.configuration.disk?.backingFile else { return nil }
    return backing.hasPrefix("/") ? backing : directory + "/" + backing
  }
}
