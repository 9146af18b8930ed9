// ExplainKit: the umbrella module. `import ExplainKit` brings the core engine and every plugin.
@_exported import ExplainArrays
@_exported import ExplainCAM
@_exported import ExplainConcept
@_exported import ExplainCore
@_exported import ExplainEvaluation
@_exported import ExplainONNX
@_exported import ExplainPerturbation
@_exported import ExplainZoo
@_exported import ExplainConformance
@_exported import ExplainGradient
@_exported import ExplainImaging
@_exported import ExplainLayer
@_exported import ExplainReference
@_exported import ExplainRelevance
@_exported import ExplainSignal

/// The method families shipped with ExplainKit, in registration order.
public func defaultPlugins() -> [any Plugin.Type] {
    [GradientPlugin.self, SignalPlugin.self, RelevancePlugin.self, ReferencePlugin.self, CAMPlugin.self, PerturbationPlugin.self,
     LayerPlugin.self]
}
