/**
 * App-wide client state handed down by context: who I am and which workflows I opened. Created
 * once by the root layout; any component reads them with `getAppState()`.
 */
import { createContext } from 'svelte';
import { Identity } from './identity.svelte';
import { RecentWorkflows } from './recent-workflows.svelte';

export interface AppState {
	identity: Identity;
	recent: RecentWorkflows;
}

const [getAppState, setAppState] = createContext<AppState>();

/** Called by the root layout. */
export function provideAppState(): AppState {
	return setAppState({ identity: new Identity(), recent: new RecentWorkflows() });
}

export { getAppState };
