using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Csvmm.Vmm.Api;

/// <summary>
/// Reads a Firecracker JSON body into its model type the way Firecracker's serde types do with
/// <c>deny_unknown_fields</c>: the document is first checked against the type's source-generated
/// metadata (every key known, required keys present, each value of the right JSON type and
/// integer range, no key twice), then deserialized. Errors name the key and its path.
/// </summary>
public static class StrictJson
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 32 };

    /// <exception cref="JsonBodyException">The body is not a <typeparamref name="T"/>.</exception>
    public static T Read<T>(ReadOnlyMemory<byte> utf8, JsonTypeInfo<T> info)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8, DocumentOptions);
        }
        catch (JsonException e)
        {
            throw new JsonBodyException($"invalid JSON at line {e.LineNumber + 1} column {e.BytePositionInLine + 1}");
        }
        using (doc)
            return Read(doc.RootElement, info, "");
    }

    /// <summary>Reads one element; <paramref name="path"/> prefixes key names in messages (e.g. "drives[1]").</summary>
    public static T Read<T>(JsonElement element, JsonTypeInfo<T> info, string path)
    {
        Check(element, info, path);
        try
        {
            return element.Deserialize(info)
                ?? throw new JsonBodyException($"invalid type: null, expected {Expected(info)}{At(path)}");
        }
        catch (JsonException e)
        {
            // The check above should leave nothing for the deserializer to refuse.
            throw new JsonBodyException($"{e.Message}{At(path)}");
        }
    }

    private static void Check(JsonElement e, JsonTypeInfo info, string path)
    {
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object:
                CheckObject(e, info, path);
                break;
            case JsonTypeInfoKind.Enumerable:
                if (e.ValueKind != JsonValueKind.Array) throw Invalid(e, "a sequence", path);
                var itemInfo = info.Options.GetTypeInfo(info.ElementType!);
                int i = 0;
                foreach (var item in e.EnumerateArray())
                {
                    CheckValue(item, itemInfo, nullable: false, $"{path}[{i}]");
                    i++;
                }
                break;
            case JsonTypeInfoKind.Dictionary:
                if (e.ValueKind != JsonValueKind.Object) throw Invalid(e, "a map", path);
                var valueInfo = info.Options.GetTypeInfo(info.ElementType!);
                foreach (var p in e.EnumerateObject())
                    CheckValue(p.Value, valueInfo, nullable: false, Join(path, p.Name));
                break;
            default:
                CheckScalar(e, info.Type, path);
                break;
        }
    }

    private static void CheckObject(JsonElement e, JsonTypeInfo info, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Invalid(e, $"struct {info.Type.Name}", path);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
        {
            if (!seen.Add(p.Name)) throw new JsonBodyException($"duplicate field `{p.Name}`{At(path)}");
            JsonPropertyInfo? property = null;
            foreach (var candidate in info.Properties)
                if (candidate.Set is not null && candidate.Name == p.Name) { property = candidate; break; }
            if (property is null)
                throw new JsonBodyException($"unknown field `{p.Name}`, expected {OneOf(info)}{At(path)}");
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            bool nullable = !property.IsRequired && (!property.PropertyType.IsValueType || type != property.PropertyType);
            if (type == typeof(JsonElement))
            {
                if (p.Value.ValueKind == JsonValueKind.Null && !nullable) throw Invalid(p.Value, "a value", Join(path, p.Name));
                continue;
            }
            CheckValue(p.Value, info.Options.GetTypeInfo(type), nullable, Join(path, p.Name));
        }
        foreach (var property in info.Properties)
            if (property.IsRequired && !seen.Contains(property.Name))
                throw new JsonBodyException($"missing field `{property.Name}`{At(path)}");
    }

    private static void CheckValue(JsonElement e, JsonTypeInfo info, bool nullable, string path)
    {
        if (e.ValueKind == JsonValueKind.Null)
        {
            if (nullable) return;
            throw Invalid(e, Expected(info), path);
        }
        Check(e, info, path);
    }

    private static void CheckScalar(JsonElement e, Type type, string path)
    {
        bool ok = type switch
        {
            _ when type == typeof(string) => e.ValueKind == JsonValueKind.String,
            _ when type == typeof(bool) => e.ValueKind is JsonValueKind.True or JsonValueKind.False,
            _ when type == typeof(int) => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out _),
            _ when type == typeof(long) => e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out _),
            _ when type == typeof(ulong) => e.ValueKind == JsonValueKind.Number && e.TryGetUInt64(out _),
            _ => throw new InvalidOperationException($"StrictJson has no rule for {type.Name}"),
        };
        if (!ok) throw Invalid(e, ExpectedScalar(type), path);
    }

    private static JsonBodyException Invalid(JsonElement e, string expected, string path)
    {
        // serde says "invalid value" for an integer out of range, "invalid type" for the wrong kind.
        string found = e.ValueKind switch
        {
            JsonValueKind.String => $"string {Quote(e.GetString()!)}",
            JsonValueKind.Number => e.GetRawText(),
            JsonValueKind.True => "boolean `true`",
            JsonValueKind.False => "boolean `false`",
            JsonValueKind.Null => "null",
            JsonValueKind.Array => "sequence",
            _ => "map",
        };
        string kind = "invalid type:";
        if (e.ValueKind == JsonValueKind.Number)
        {
            if (expected.Contains("integer")) kind = "invalid value:";
            else found = $"number {found}";
        }
        return new JsonBodyException($"{kind} {found}, expected {expected}{At(path)}");
    }

    private static string Expected(JsonTypeInfo info) => info.Kind switch
    {
        JsonTypeInfoKind.Object => $"struct {info.Type.Name}",
        JsonTypeInfoKind.Enumerable => "a sequence",
        JsonTypeInfoKind.Dictionary => "a map",
        _ => ExpectedScalar(info.Type),
    };

    private static string ExpectedScalar(Type type) =>
        type == typeof(string) ? "a string"
        : type == typeof(bool) ? "a boolean"
        : type == typeof(int) ? "a 32-bit integer"
        : type == typeof(long) ? "a 64-bit integer"
        : type == typeof(ulong) ? "a non-negative 64-bit integer"
        : type.Name;

    private static string OneOf(JsonTypeInfo info)
    {
        // Only the keys that can be read: computed, [JsonIgnore]d members have no setter.
        var names = new StringBuilder("one of ");
        bool first = true;
        foreach (var property in info.Properties)
        {
            if (property.Set is null) continue;
            if (!first) names.Append(", ");
            names.Append('`').Append(property.Name).Append('`');
            first = false;
        }
        return names.ToString();
    }

    private static string Quote(string s) => s.Length <= 40 ? $"\"{s}\"" : $"\"{s[..40]}...\"";

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private static string At(string path) => path.Length == 0 ? "" : $" at `{path}`";
}
