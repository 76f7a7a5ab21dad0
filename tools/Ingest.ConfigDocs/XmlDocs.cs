using System.Reflection;
using System.Text;
using System.Xml.Linq;

namespace Ingest.ConfigDocs;

/// <summary>The <c>&lt;summary&gt;</c> texts of an assembly's XML documentation file, as Markdown.</summary>
internal sealed class XmlDocs
{
    private readonly Dictionary<string, string> _summaries = [];

    public XmlDocs(XDocument document)
    {
        foreach (var member in document.Descendants("member"))
        {
            if (member.Attribute("name")?.Value is { } name && member.Element("summary") is { } summary)
            {
                _summaries[name] = Render(summary);
            }
        }
    }

    /// <summary>Reads <c>Name.xml</c> next to the assembly (the build writes it: GenerateDocumentationFile).</summary>
    public static XmlDocs For(Assembly assembly)
    {
        var path = Path.ChangeExtension(assembly.Location, ".xml");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} is missing: build {assembly.GetName().Name} with GenerateDocumentationFile.", path);
        }
        return new XmlDocs(XDocument.Load(path));
    }

    /// <summary>The summary of a type, or empty.</summary>
    public string Summary(Type type) => _summaries.GetValueOrDefault($"T:{type.FullName}", "");

    /// <summary>The summary of a property, or empty.</summary>
    public string Summary(PropertyInfo property) =>
        _summaries.GetValueOrDefault($"P:{property.DeclaringType!.FullName}.{property.Name}", "");

    private static string Render(XElement element)
    {
        var text = new StringBuilder();
        foreach (var node in element.Nodes())
        {
            switch (node)
            {
                case XText t:
                    text.Append(t.Value.Replace("<", "&lt;", StringComparison.Ordinal));
                    break;
                case XElement { Name.LocalName: "c" } code:
                    text.Append('`').Append(code.Value).Append('`');
                    break;
                case XElement { Name.LocalName: "see" } see:
                    text.Append('`').Append(see.Attribute("langword")?.Value ?? CrefName(see.Attribute("cref")?.Value ?? "")).Append('`');
                    break;
                case XElement other:
                    text.Append(' ').Append(Render(other)).Append(' ');
                    break;
            }
        }
        return string.Join(' ', text.ToString().Split((char[])[' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries));
    }

    // "P:Ingest.Core.Configuration.LimitsOptions.MinRequestBodyDataRate" -> minRequestBodyDataRate (the YAML key).
    private static string CrefName(string cref)
    {
        var name = cref[(cref.LastIndexOf('.') + 1)..];
        return cref.StartsWith("P:", StringComparison.Ordinal) ? ConfigurationReference.Key(name) : name;
    }
}
