using Ingest.Core.Configuration;

namespace Ingest.Core.Templates;

/// <summary>Compiles every route's <c>requestTemplate</c> and <c>responseTemplate</c> and reports every syntax error with route and line.</summary>
public static class TemplatesValidation
{
    public static void Validate(IngestConfig config, ICollection<string> errors)
    {
        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            var where = $"routes[{i}] ({route.Route})";
            MappingTemplate.Compile(route.RequestTemplate, where + ".requestTemplate", errors);
            MappingTemplate.Compile(route.ResponseTemplate, where + ".responseTemplate", errors);
        }
    }
}
