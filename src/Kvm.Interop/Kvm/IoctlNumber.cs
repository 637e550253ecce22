using System.Runtime.CompilerServices;

namespace Csvmm.Kvm;

/// <summary>
/// The Linux <c>_IOC</c> encoding (include/uapi/asm-generic/ioctl.h): bits 31-30 direction,
/// 29-16 argument size, 15-8 type, 7-0 number. Sizes come from the blittable structs, so a
/// struct that drifts from the C layout changes the request number and the header test fails.
/// </summary>
public static class IoctlNumber
{
    private const int NrShift = 0;
    private const int TypeShift = 8;
    private const int SizeShift = 16;
    private const int DirShift = 30;

    public const uint DirNone = 0;
    public const uint DirWrite = 1;
    public const uint DirRead = 2;

    public static uint Ioc(uint dir, uint type, uint nr, uint size) =>
        (dir << DirShift) | (type << TypeShift) | (nr << NrShift) | (size << SizeShift);

    public static uint Io(uint type, uint nr) => Ioc(DirNone, type, nr, 0);

    public static unsafe uint Ior<T>(uint type, uint nr) where T : unmanaged =>
        Ioc(DirRead, type, nr, (uint)sizeof(T));

    public static unsafe uint Iow<T>(uint type, uint nr) where T : unmanaged =>
        Ioc(DirWrite, type, nr, (uint)sizeof(T));

    public static unsafe uint Iowr<T>(uint type, uint nr) where T : unmanaged =>
        Ioc(DirRead | DirWrite, type, nr, (uint)sizeof(T));
}
