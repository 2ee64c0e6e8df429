/**
 * Random frames against both WebSocket endpoints (fast-check, real sockets on 127.0.0.1:0):
 * - `/yjs`: arbitrary bytes, frames that start like real y-websocket messages, and real document
 *   updates with bytes flipped or cut. The room server never crashes or throws, closes only the
 *   offender (with a code from COLLAB_CLOSE) or accepts a frame that happens to be valid; two
 *   editors beside it keep editing and converge with the server; what is stored reloads to the
 *   same document.
 * - `/live`: arbitrary text and binary frames; only the offender is closed, with a protocol code,
 *   and a bystander still gets every event.
 * The parsers themselves are fuzzed in protocol.test.ts; this is the servers around them.
 */
import fc from 'fast-check';
import * as encoding from 'lib0/encoding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createSqlitePersistence } from '../../server/collab/persistence';
import { openDatabase } from '../../server/store/db';
import { COLLAB_CLOSE } from '../../src/lib/workflow/collab-close-codes';
import { docToWorkflow, setName, setParam, workflowToDoc } from '../../src/lib/workflow/doc';
import { rawClient, startCollab, tempDbPath, waitConverged, waitFor, type CollabClient, type CollabHarness } from '../helpers/collab';
import { jobEvents, startLiveHarness, type LiveHarness } from '../helpers/live';

const rejections: unknown[] = [];
const onRejection = (reason: unknown) => void rejections.push(reason);
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => void uncaught.push(error);
beforeAll(() => {
	process.on('unhandledRejection', onRejection);
	process.on('uncaughtException', onUncaught);
});
afterAll(() => {
	process.off('unhandledRejection', onRejection);
	process.off('uncaughtException', onUncaught);
});

function frame(write: (e: encoding.Encoder) => void): Uint8Array {
	const e = encoding.createEncoder();
	write(e);
	return encoding.toUint8Array(e);
}

/** A real update (from a random edit on a scratch doc), to be damaged. */
function realUpdate(seed: number): Uint8Array {
	const scratch = new Y.Doc();
	workflowToDoc({ name: `n${seed}`, blocks: [{ id: `b${seed % 7}`, type: 'filter', params: { expression: `x == ${seed}` } }] }, scratch);
	const update = Y.encodeStateAsUpdate(scratch);
	scratch.destroy();
	return update;
}

const damagedUpdate = fc
	.tuple(
		fc.nat(1_000),
		fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
		fc.option(fc.nat())
	)
	.map(([seed, flips, cut]) => {
		const update = realUpdate(seed).slice();
		for (const [at, byte] of flips) update[at % update.length] = byte;
		return cut === null ? update : update.slice(0, cut % update.length);
	});

/** One frame a hostile client may send. */
const yjsFrame = fc.oneof(
	fc.uint8Array({ maxLength: 64 }),
	// Starts like sync step 1/2 or an update, then garbage.
	fc.tuple(fc.constantFrom(0, 1, 2), fc.uint8Array({ maxLength: 40 })).map(([kind, rest]) =>
		frame((e) => {
			encoding.writeVarUint(e, 0);
			encoding.writeVarUint(e, kind);
			encoding.writeUint8Array(e, rest);
		})
	),
	// A well-framed update whose content is a damaged real update.
	damagedUpdate.map((update) =>
		frame((e) => {
			encoding.writeVarUint(e, 0);
			encoding.writeVarUint(e, 2);
			encoding.writeVarUint8Array(e, update);
		})
	),
	// Awareness with random content.
	fc.uint8Array({ maxLength: 48 }).map((inner) =>
		frame((e) => {
			encoding.writeVarUint(e, 1);
			encoding.writeVarUint8Array(e, inner);
		})
	),
	fc.constant(Uint8Array.of(3)),
	fc.string({ maxLength: 20 })
);

/** Frames a real client could send (an awareness query, step 1, a real update): the socket stays open. */
const validFrames = fc.array(
	fc.oneof(
		fc.constant(Uint8Array.of(3)),
		fc.constant(
			frame((e) => {
				encoding.writeVarUint(e, 0);
				encoding.writeVarUint(e, 0);
				encoding.writeVarUint8Array(e, Y.encodeStateVector(new Y.Doc()));
			})
		),
		fc.nat(1_000).map((seed) =>
			frame((e) => {
				encoding.writeVarUint(e, 0);
				encoding.writeVarUint(e, 2);
				encoding.writeVarUint8Array(e, realUpdate(seed));
			})
		)
	),
	{ minLength: 1, maxLength: 3 }
);

const CLOSE_CODES = new Set<number>([...Object.values(COLLAB_CLOSE), 1002, 1007, 1009]);

describe('/yjs: random frames (fast-check)', () => {
	let h: CollabHarness;
	let alice: CollabClient;
	let bob: CollabClient;
	const db = tempDbPath();

	beforeAll(async () => {
		h = await startCollab({ tokens: { tok: { workflowId: 'fz', access: 'edit' } }, dbPath: db.path });
		alice = h.connect('fz', 'tok');
		bob = h.connect('fz', 'tok');
		await Promise.all([alice.synced(), bob.synced()]);
		workflowToDoc({ name: 'Fuzz', blocks: [{ id: 'f', type: 'filter', params: { expression: 'x == 1' } }] }, alice.doc);
		await waitConverged([alice.doc, bob.doc]);
	});
	afterAll(async () => {
		await h.close({ keepFile: true });
		db.remove();
	});

	it('never crash the room server; only the sender is closed; the editors beside it converge; the store reloads', async () => {
		let closed = 0;
		let stayedOpen = 0;
		let round = 0;
		await fc.assert(
			fc.asyncProperty(
				fc.oneof(
					{ weight: 4, arbitrary: fc.array(yjsFrame, { minLength: 1, maxLength: 5 }) },
					{ weight: 1, arbitrary: validFrames }
				),
				async (frames) => {
					round++;
					const client = rawClient(`${h.base}/fz?token=tok`);
					await client.opened;
					for (const data of frames) if (client.ws.readyState === client.ws.OPEN) client.ws.send(data);
					const outcome = await Promise.race([client.closed, new Promise<null>((r) => setTimeout(() => r(null), 40))]);
					if (outcome) {
						closed++;
						expect(CLOSE_CODES.has(outcome.code), `close code ${outcome.code}`).toBe(true);
					} else {
						stayedOpen++;
						client.ws.terminate();
					}
					// The editors beside it still edit together, and agree with the server's document.
					setName(alice.doc, `round ${round}`);
					setParam(bob.doc, 'f', 'expression', `x == ${round}`);
					await waitFor(() => docToWorkflow(bob.doc).name === `round ${round}`, `bob sees round ${round}`, 3_000);
					const server = await h.collab.getDoc('fz');
					await waitConverged([alice.doc, bob.doc, server], 3_000);
				}
			),
			{ numRuns: 60 }
		);
		expect(closed).toBeGreaterThan(10);
		expect(stayedOpen).toBeGreaterThan(0);
		const stats = h.collab.stats();
		expect(stats.malformed + stats.unsupported + stats.tooBig).toBeGreaterThan(0);
		expect(stats.persistFailures).toBe(0);
		expect(alice.provider.wsconnected && bob.provider.wsconnected).toBe(true);

		// What a new process would load is what the editors see.
		const reopened = openDatabase(db.path);
		try {
			const doc = new Y.Doc();
			expect((await createSqlitePersistence(reopened).load('fz', doc)).skipped).toBe(0);
			expect(docToWorkflow(doc)).toEqual(docToWorkflow(alice.doc));
		} finally {
			reopened.close();
		}
		expect(rejections).toEqual([]);
		expect(uncaught).toEqual([]);
	}, 30_000);
});

describe('/live: random frames (fast-check)', () => {
	let h: LiveHarness;
	beforeAll(async () => {
		h = await startLiveHarness();
	});
	afterAll(() => h.close());

	const liveFrame = fc.oneof(
		fc.string({ maxLength: 60 }),
		fc.string({ unit: 'binary', maxLength: 60 }),
		fc.jsonValue({ maxDepth: 3 }).map((j) => JSON.stringify(j)),
		fc
			.record({
				type: fc.constantFrom('ping', 'pong', 'hello', 'snapshot', '__proto__', 'job_finished'),
				id: fc.oneof(fc.integer(), fc.string(), fc.constant(null))
			})
			.map((j) => JSON.stringify(j)),
		fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
		fc.nat().map((id) => JSON.stringify({ type: 'ping', id }))
	);

	it('close only the sender, with a protocol code; a bystander still gets every event', async () => {
		const path = `/live/${h.workflow.id}?token=${h.workflow.viewToken}`;
		const bystander = h.connect(path);
		await bystander.untilType('snapshot');
		let closed = 0;
		let answered = 0;
		let round = 0;
		await fc.assert(
			fc.asyncProperty(fc.array(liveFrame, { minLength: 1, maxLength: 4 }), async (frames) => {
				round++;
				const offender = h.connect(path);
				await offender.untilType('snapshot');
				for (const data of frames) if (offender.ws.readyState === offender.ws.OPEN) offender.ws.send(data);
				await offender
					.until(() => offender.closed !== null || offender.of('pong').length === frames.length, 300, 'close')
					.catch(() => undefined);
				if (offender.closed) {
					closed++;
					expect([1003, 1007, 1008, 1009]).toContain(offender.closed.code);
				} else {
					// Only well-formed pings keep a client open, and each got its pong.
					answered++;
					expect(offender.invalid).toEqual([]);
					expect(offender.of('pong').length).toBeGreaterThan(0);
					offender.ws.terminate();
				}
				h.hub.publish(h.workflow.id, jobEvents(`job-${round}`).created());
				await bystander.until(() => bystander.of('job_created').length === round, 2_000, `event ${round}`);
			}),
			{ numRuns: 80 }
		);
		expect(closed).toBeGreaterThan(40);
		expect(answered).toBeGreaterThan(0);
		expect(bystander.closed).toBeNull();
		expect(bystander.invalid).toEqual([]);
		expect(rejections).toEqual([]);
		expect(uncaught).toEqual([]);
	}, 30_000);
});
