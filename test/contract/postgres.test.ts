import { openStore } from '../../src/store/open.ts';
import { sharedCluster, withPostgres } from '../helpers/postgres.ts';
import { SIGN_IN_KINDS, createManualClock, registerStoreContract } from './store-contract.ts';

// The whole store contract on a real PostgreSQL: a private cluster for this file, a fresh database
// for each test, migrated as the IdP migrates it outside production.
withPostgres('PostgreSQL contract suite', () => {
  const cluster = sharedCluster();
  registerStoreContract('postgres', async () => {
    const url = await cluster().createDatabase();
    const clock = createManualClock();
    const store = await openStore(url, { clock, ensureIndexes: true, signInKinds: SIGN_IN_KINDS, poolSize: 4 });
    return { store, clock, bounded: 'SignInInProgress' };
  });
});
