using System.Reflection;
using Xunit;

namespace Csvmm.Tests.Support;

/// <summary>
/// What marks a boot test (a test that runs a real guest: Linux or a tiny kernel, under csvmm or
/// QEMU) and how boot tests run. A boot-test class or method carries
/// <c>[Trait(BootTest.TraitName, BootTest.TraitValue)]</c>; <c>./build.sh test</c> runs them after
/// the unit tests, one project at a time (<c>--filter Category=Boot</c>), and under CI a skipped boot
/// test fails the run. Boot-test classes share <see cref="Collection"/>, so xunit never runs two
/// guests of one test project at once: a second guest on this 2-core host starves the first.
/// </summary>
public static class BootTest
{
    public const string TraitName = "Category";
    public const string TraitValue = "Boot";
    public const string Collection = "boot tests, one guest at a time";

    /// <summary>
    /// How long any guest may take to boot to user space (CSVMM_READY or the first step). A Linux
    /// boot takes about a minute on the nested build host when it is idle and 2-4 minutes when
    /// builds share its two cores; a guest that needs longer is stuck.
    /// </summary>
    public static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Test classes in <paramref name="assembly"/> with a boot test (the trait on the class or on a
    /// method) that are not in <see cref="Collection"/>: xunit would run them next to other guests.
    /// </summary>
    public static IEnumerable<string> ClassesOutsideTheCollection(Assembly assembly) =>
        from type in assembly.GetTypes()
        where (HasTrait(type) || type.GetMethods().Any(HasTrait)) && CollectionOf(type) != Collection
        select type.FullName;

    // xunit 2's TraitAttribute and CollectionAttribute keep their arguments to themselves: read them
    // from the attribute data.
    private static bool HasTrait(MemberInfo member) =>
        member.GetCustomAttributesData().Any(a => a.AttributeType == typeof(TraitAttribute)
            && (string?)a.ConstructorArguments[0].Value == TraitName && (string?)a.ConstructorArguments[1].Value == TraitValue);

    private static string? CollectionOf(Type type) =>
        type.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType == typeof(CollectionAttribute))?.ConstructorArguments[0].Value as string;
}
