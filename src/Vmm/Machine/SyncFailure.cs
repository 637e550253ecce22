namespace Csvmm.Vmm.Machine;

/// <summary>A disk whose data could not be made durable: its image and the errno.</summary>
public readonly record struct SyncFailure(string Target, int Errno);
