namespace Csvmm.Vmm.Config;

public enum ConsoleKind { Stdio, File, None }
