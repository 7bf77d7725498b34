import { useRestorer } from '../../lib/restore-cache';
import { rebuildHere } from '../../lib/warm-up';

useRestorer(rebuildHere);
