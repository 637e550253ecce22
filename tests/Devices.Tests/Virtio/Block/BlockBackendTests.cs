using Csvmm.Devices.Virtio.Block;
using Xunit;

namespace Csvmm.Devices.Tests.Virtio.Block;

public sealed class BlockBackendTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("csvmm-blk-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Image(int size)
    {
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.img");
        File.WriteAllBytes(path, new byte[size]);
        return path;
    }

    [Fact]
    public void Writable_image_locked_by_another_open_is_refused_as_in_use()
    {
        string path = Image(4096);
        using var first = BlockBackend.Open(path, readOnly: false);
        var e = Assert.Throws<BlockBackendException>(() => BlockBackend.Open(path, readOnly: false));
        Assert.Equal(BlockBackendError.InUse, e.Kind);
        Assert.Contains("in use by another process", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Read_only_open_of_an_image_open_for_writing_is_refused()
    {
        string path = Image(4096);
        using var first = BlockBackend.Open(path, readOnly: false);
        Assert.Equal(BlockBackendError.InUse,
            Assert.Throws<BlockBackendException>(() => BlockBackend.Open(path, readOnly: true)).Kind);
    }

    [Fact]
    public void Two_read_only_opens_share_the_image()
    {
        string path = Image(4096);
        using var a = BlockBackend.Open(path, readOnly: true);
        using var b = BlockBackend.Open(path, readOnly: true);
        Assert.True(b.ReadOnly);
    }

    [Fact]
    public void Lock_is_released_on_dispose()
    {
        string path = Image(4096);
        BlockBackend.Open(path, readOnly: false).Dispose();
        using var again = BlockBackend.Open(path, readOnly: false);
    }

    [Fact]
    public void Missing_image_is_not_found()
    {
        var e = Assert.Throws<BlockBackendException>(() => BlockBackend.Open(Path.Combine(_dir, "nope.img"), false));
        Assert.Equal(BlockBackendError.NotFound, e.Kind);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Directory_is_refused(bool readOnly)
    {
        var e = Assert.Throws<BlockBackendException>(() => BlockBackend.Open(_dir, readOnly));
        Assert.Equal(BlockBackendError.IsDirectory, e.Kind);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(511)]
    public void Image_smaller_than_a_sector_is_refused(int size)
    {
        var e = Assert.Throws<BlockBackendException>(() => BlockBackend.Open(Image(size), false));
        Assert.Equal(BlockBackendError.TooSmall, e.Kind);
    }

    [Fact]
    public void Size_not_a_multiple_of_512_rounds_the_capacity_down()
    {
        using var b = BlockBackend.Open(Image(512 * 3 + 100), false);
        Assert.Equal(3UL, b.CapacitySectors);
        Assert.Equal(512 * 3 + 100, b.SizeBytes);
    }
}
