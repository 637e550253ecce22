namespace Csvmm.Host.Native;

/// <summary>The file type from st_mode, as far as a disk backend cares.</summary>
public enum FileKind
{
    Regular,
    Directory,
    BlockDevice,
    Other,
}
