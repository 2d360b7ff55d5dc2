// cluster-key-slot (ioredis' own slot function) ships no types.
declare module 'cluster-key-slot' {
  /** The Redis Cluster slot of `key`, honouring its hash tag, as `CLUSTER KEYSLOT` answers. */
  function calculateSlot(key: string | Buffer): number;
  export default calculateSlot;
}
