/** `npm run migrate`: applies pending schema migrations to the configured MySQL. */
import { config } from '../lib/config';
import { migrate } from '../lib/db/migrations';

migrate(config().mysql, (line) => console.log(line))
  .then((applied) => console.log(applied.length ? `done (${applied.length} applied)` : 'schema up to date'))
  .catch((e: unknown) => {
    console.error(`migration failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
