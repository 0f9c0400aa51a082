// The official OZmap SDK (@ozmap/ozmap-sdk) driven through its documented constructor and
// methods against `ozbot sandbox`: every call a chatbot or an ERP would make. Run by
// tests/sdk/test_sdk.py; writes one JSON report ({calls: [{name, ok, detail}]}) to $SDK_REPORT.
//
//   OZMAP_URL=http://127.0.0.1:9994 OZMAP_TOKEN=... SDK_CASE='{...}' SDK_REPORT=out.json \
//     node tests/sdk/calls.cjs
'use strict';

const fs = require('fs');
const { default: OZMapSDK, FilterOperator } = require('@ozmap/ozmap-sdk');

const URL = process.env.OZMAP_URL;
const CASE = JSON.parse(process.env.SDK_CASE);
const calls = [];

function expect(condition, message) {
  if (!condition) throw new Error(`expected ${message}`);
}

function describe(error) {
  // axios rejects with the response (status, data) or an error
  if (error && error.status && error.data !== undefined) {
    return `HTTP ${error.status}: ${JSON.stringify(error.data)}`;
  }
  return String((error && error.message) || error);
}

async function call(name, run) {
  try {
    const detail = await run();
    calls.push({ name, ok: true, detail: detail === undefined ? '' : String(detail) });
  } catch (error) {
    calls.push({ name, ok: false, detail: describe(error) });
  }
}

async function refused(name, run, status) {
  // a call the sandbox must refuse with a clear 4xx
  try {
    await run();
    calls.push({ name, ok: false, detail: 'accepted, expected a refusal' });
  } catch (error) {
    const message = error && error.data && error.data.message;
    const ok = error && error.status === status && typeof message === 'string' && message.length > 10;
    calls.push({ name, ok, detail: describe(error) });
  }
}

const eq = (property, value) => ({ property, operator: FilterOperator.EQUAL, value });
const near = (lat, lng, radius) => ({
  property: 'coords',
  operator: FilterOperator.NEAR,
  value: { lat, lng, radius },
});

async function main() {
  const sdk = new OZMapSDK(URL, { apiKey: process.env.OZMAP_TOKEN });
  const { covered, building, condominium, outage } = CASE;
  const code = `sdk-${Date.now()}`;
  const state = {};

  // --- authentication -------------------------------------------------------------------
  await call('apiInstance.get authenticated (apiKey)', async () => {
    await sdk.apiInstance.get({ route: 'authenticated' });
  });
  await call('new OZMapSDK({login, password}) then property.find', async () => {
    const withLogin = new OZMapSDK(URL, { login: CASE.login, password: CASE.password });
    const page = await withLogin.property.find({ limit: 1 });
    expect(page.rows.length === 1, 'one property after logging in');
  });

  // --- feasibility and what is around the point (chatbot) -------------------------------
  await call('apiInstance.get ftth-viability/radius', async () => {
    const answer = await sdk.apiInstance.get({
      route: 'ftth-viability/radius',
      options: { params: { lat: covered.lat, lng: covered.lng } },
    });
    expect(answer.viable === true, 'viable at the covered sample');
  });
  await call('apiInstance.get ftth-viability/radius with radius', async () => {
    const answer = await sdk.apiInstance.get({
      route: 'ftth-viability/radius',
      options: { params: { lat: CASE.far.lat, lng: CASE.far.lng, radius: 300 } },
    });
    expect(answer.viable === false, 'not viable far away');
  });
  await call('box.find near', async () => {
    const page = await sdk.box.find({ filter: [near(covered.lat, covered.lng, 100)] });
    expect(page.rows.some((b) => b.id === CASE.box), 'the tutorial box near its address');
    return `${page.count} boxes`;
  });
  await call('box.findById', async () => {
    const box = await sdk.box.findById(CASE.box);
    expect(box && box.id === CASE.box, 'the box');
  });
  await call('box.findById of an unknown id is null', async () => {
    expect((await sdk.box.findById('0'.repeat(24))) === null, 'null');
  });
  await call('box.findAll (batchSize 10)', async () => {
    const all = await sdk.box.findAll({ batchSize: 10 });
    const { total } = await sdk.box.find({ limit: 1 });
    expect(all.length === total && new Set(all.map((b) => b.id)).size === total, `${total} boxes`);
    return `${all.length} of ${total}`;
  });
  await call('box.getStructure (base-boxes topology and design)', async () => {
    const { topology, design } = await sdk.box.getStructure(CASE.box);
    expect(topology.splitters && topology.splitters[CASE.splitter], 'its splitter in the topology');
    expect(Object.keys(topology.drops).length > 0, 'drops to its clients');
    expect(design.box === CASE.box, 'the design of the box');
  });
  await call('baseBox.findById', async () => {
    const box = await sdk.baseBox.findById(building.id);
    expect(box && box.kind === 'Building', 'a building among the base boxes');
  });
  await call('splitter.find by parent and isDrop', async () => {
    const page = await sdk.splitter.find({ filter: [eq('parent', CASE.box), eq('isDrop', true)] });
    expect(page.rows.length === 1 && page.rows[0].id === CASE.splitter, 'its drop splitter');
  });
  await call('splitter.findById', async () => {
    const splitter = await sdk.splitter.findById(CASE.splitter);
    expect(splitter.connectables.output.length === 8, 'eight outputs');
  });
  await call('pole.find near', async () => {
    const page = await sdk.pole.find({ filter: [near(covered.lat, covered.lng, 100)] });
    expect(page.rows.length > 0 && page.rows.every((p) => Array.isArray(p.adjacents)), 'poles');
    state.pole = page.rows[0].id;
  });
  await call('pole.findById', async () => {
    expect((await sdk.pole.findById(state.pole)).kind === 'Pole', 'a pole');
  });
  await call('building.find near', async () => {
    const page = await sdk.building.find({ filter: [near(building.lat, building.lng, 80)] });
    expect(page.rows.some((b) => b.id === building.id), 'the building');
  });
  await call('building.getStructure', async () => {
    const { topology } = await sdk.building.getStructure(building.id);
    expect(Object.keys(topology.splitters).length === 1, "the building's splitter");
  });
  await call('horizontalCondominium.find point-intersect', async () => {
    const page = await sdk.horizontalCondominium.find({
      filter: [
        {
          property: 'polygon',
          operator: FilterOperator.POINT_INTERSECT,
          value: { lat: condominium.lat, lng: condominium.lng },
        },
      ],
    });
    expect(page.rows.length === 1 && page.rows[0].id === condominium.id, 'the condominium');
  });
  await call('box.find within a horizontal condominium', async () => {
    const page = await sdk.box.find({
      filter: [
        {
          property: 'coords',
          operator: FilterOperator.WITHIN,
          value: { id: condominium.id, model: 'horizontalCondominium' },
        },
      ],
    });
    expect(page.rows.length === 2, 'its two boxes');
  });
  await call('region.find point-intersect', async () => {
    const page = await sdk.region.find({
      filter: [
        {
          property: 'polygon',
          operator: FilterOperator.POINT_INTERSECT,
          value: { lat: outage.lat, lng: outage.lng },
        },
      ],
    });
    expect(page.rows.some((r) => r.id === outage.region), 'the outage region');
  });
  await call('tag.find name in', async () => {
    const page = await sdk.tag.find({
      filter: [{ property: 'name', operator: FilterOperator.IN, value: ['MASSIVA', 'ROMPIMENTO'] }],
    });
    expect(page.rows.length === 2, 'two tags');
    state.tag = page.rows[0].id;
  });
  await call('tag.findById', async () => {
    expect((await sdk.tag.findById(state.tag)).id === state.tag, 'the tag');
  });
  await call('tag.findAll', async () => {
    expect((await sdk.tag.findAll()).length >= 3, 'every tag');
  });
  await call('project.find', async () => {
    expect((await sdk.project.find()).rows.some((p) => p.id === CASE.project), 'the project');
  });
  await call('project.findById', async () => {
    expect((await sdk.project.findById(CASE.project)).drop.maxSize > 0, 'its drop size');
  });

  // --- a reservation (chatbot, ERP) -------------------------------------------------------
  await call('property.create (reservation with auto_connect)', async () => {
    const created = await sdk.property.create({
      project: CASE.project,
      box: CASE.box,
      coords: [covered.lng, covered.lat],
      address: covered.address,
      observation: 'Reserva pelo SDK',
      auto_connect: true,
      force: false,
      client: { code, name: 'Cliente SDK', implanted: false, observation: '' },
    });
    expect(created.id && typeof created.client === 'string', 'a property and its client');
    state.property = created.id;
    state.client = created.client;
  });
  await refused(
    'property.create with neither coords nor lat/lng is refused',
    () =>
      sdk.property.create({
        project: CASE.project,
        box: CASE.box,
        address: 'nowhere',
        auto_connect: true,
        client: { code: `${code}-x`, name: 'Sem Lugar' },
      }),
    422,
  );
  await call('apiInstance.get properties/client/{code}', async () => {
    const found = await sdk.apiInstance.get({ route: `properties/client/${encodeURIComponent(code)}` });
    expect(found.length === 1 && found[0].client.code === code, 'the reservation by its code');
    expect(found[0].connections.length === 1, 'connected to a port');
  });
  await call('property.find by client', async () => {
    const page = await sdk.property.find({ filter: [eq('client', state.client)] });
    expect(page.total === 1 && page.rows[0].id === state.property, 'the property');
  });
  await call('property.findOne', async () => {
    const prop = await sdk.property.findOne({ filter: [eq('box', CASE.box)] });
    expect(prop && prop.box === CASE.box, 'a property of the box');
  });
  await call('property.findById with select', async () => {
    const prop = await sdk.property.findById(state.property, { select: 'address box' });
    const keys = Object.keys(prop).sort().join(',');
    expect(keys === '_id,address,box,id', `only the selected fields, got ${keys}`);
  });
  await call('property.findAll by box', async () => {
    const all = await sdk.property.findAll({ filter: [eq('box', CASE.box)], batchSize: 2 });
    expect(all.some((p) => p.id === state.property) && all.length >= 4, 'every property of the box');
    return `${all.length} properties`;
  });
  await call('property.updateById', async () => {
    await sdk.property.updateById(state.property, { observation: 'Apto 12', potencyRead: -19.5 });
    const prop = await sdk.property.findById(state.property);
    expect(prop.observation === 'Apto 12' && prop.potencyRead === -19.5, 'the update');
  });
  await call('property.batchUpdate potencyRead', async () => {
    await sdk.property.batchUpdate([eq('id', state.property)], { potencyRead: -21.5 });
    expect((await sdk.property.findById(state.property)).potencyRead === -21.5, 'the new power');
  });

  // --- clients (ERP, monitoring) ----------------------------------------------------------
  await call('ftthClient.findOne by code', async () => {
    const client = await sdk.ftthClient.findOne({ filter: [eq('code', code)] });
    expect(client && client.id === state.client && client.implanted === false, 'the reservation');
  });
  await call('ftthClient.findById', async () => {
    expect((await sdk.ftthClient.findById(state.client)).code === code, 'the client');
  });
  await call('ftthClient.find sorted and selected', async () => {
    const page = await sdk.ftthClient.find({
      sorter: [{ property: 'code', direction: -1 }],
      select: 'code',
      limit: 5,
    });
    const codes = page.rows.map((c) => c.code);
    expect(codes.join() === [...codes].sort().reverse().join(), 'codes in descending order');
    expect(page.rows.every((c) => Object.keys(c).sort().join() === '_id,code,id'), 'only code');
  });
  await call('ftthClient.findAll (batchSize 25)', async () => {
    const all = await sdk.ftthClient.findAll({ batchSize: 25 });
    const { total } = await sdk.ftthClient.find({ limit: 1 });
    expect(all.length === total && new Set(all.map((c) => c.id)).size === total, `${total} clients`);
    return `${all.length} of ${total}`;
  });
  await call('ftthClient.findAll with a filter', async () => {
    const ok = await sdk.ftthClient.findAll({ filter: [eq('status', 0)], batchSize: 20 });
    const page = await sdk.ftthClient.find({ filter: [eq('status', 0)], limit: 1 });
    expect(ok.length === page.total && ok.every((c) => c.status === 0), `${page.total} clients`);
  });
  await call('ftthClient.updateById implanted (activation)', async () => {
    await sdk.ftthClient.updateById(state.client, { implanted: true });
    expect((await sdk.ftthClient.findById(state.client)).implanted === true, 'implanted');
  });
  await call('ftthClient.updateById status ERROR', async () => {
    await sdk.ftthClient.updateById(state.client, { status: 1 });
    expect((await sdk.ftthClient.findById(state.client)).status === 1, 'status 1');
  });
  await call('ftthClient.updateById onu', async () => {
    const onu = { user_PPPoE: 'cliente.sdk', serial_number: 'ZTEG00000001', mac_address: 'AA:BB:CC:00:11:22' };
    await sdk.ftthClient.updateById(state.client, { onu });
    expect((await sdk.ftthClient.findById(state.client)).onu.serial_number === onu.serial_number, 'the ONU');
  });
  await call('ftthClient.batchUpdate status', async () => {
    await sdk.ftthClient.batchUpdate([{ property: 'id', operator: FilterOperator.IN, value: [state.client] }], { status: 0 });
    expect((await sdk.ftthClient.findById(state.client)).status === 0, 'status 0');
  });

  await call('ftthClient.findOne by onu.mac_address (tutorial 001)', async () => {
    const client = await sdk.ftthClient.findOne({ filter: [eq('onu.mac_address', 'AA:BB:CC:00:11:22')] });
    expect(client && client.id === state.client, 'the client by its ONU');
  });
  await call('ftthClient.updateById name and observation (ERP data)', async () => {
    await sdk.ftthClient.updateById(state.client, { name: 'Cliente SDK Silva', observation: 'plano 500' });
    const client = await sdk.ftthClient.findById(state.client);
    expect(client.name === 'Cliente SDK Silva' && client.observation === 'plano 500', 'the update');
  });
  await call('ftthClient.find code in a list', async () => {
    const page = await sdk.ftthClient.find({
      filter: [{ property: 'code', operator: FilterOperator.IN, value: [code, CASE.deletableClient] }],
    });
    expect(page.total === 2, `two clients by their codes, got ${page.total}`);
  });
  await call('ftthClient.find with an OR group', async () => {
    const page = await sdk.ftthClient.find({
      filter: [[eq('code', code), eq('code', CASE.deletableClient)]],
    });
    expect(page.total === 2, `either code, got ${page.total}`);
  });
  await call('ftthClient.find updated since (ERP sync)', async () => {
    const since = new Date(Date.now() - 60 * 60 * 1000).toISOString();
    const page = await sdk.ftthClient.find({
      filter: [{ property: 'updatedAt', operator: FilterOperator.GREATER_OR_EQUAL, value: since }],
    });
    expect(page.rows.some((c) => c.id === state.client), 'the client just updated');
    expect(page.rows.every((c) => c.updatedAt >= since), 'only clients updated since');
  });
  await call('property.updateById coords (ERP data)', async () => {
    await sdk.property.updateById(state.property, { coords: [covered.lng + 0.0001, covered.lat] });
    const prop = await sdk.property.findById(state.property);
    expect(Math.abs(prop.coords[0] - (covered.lng + 0.0001)) < 1e-9, 'the new location');
  });
  await call('property.findById of an unknown id is null', async () => {
    expect((await sdk.property.findById('0'.repeat(24))) === null, 'null');
  });
  await call('splitter.findAll of several boxes', async () => {
    const all = await sdk.splitter.findAll({
      filter: [{ property: 'parent', operator: FilterOperator.IN, value: [CASE.box] }, eq('isDrop', true)],
      batchSize: 1,
    });
    expect(all.length === 1 && all[0].id === CASE.splitter, 'the drop splitter');
  });
  await call('box.find implanted, selected', async () => {
    const page = await sdk.box.find({ filter: [eq('implanted', true)], select: 'name', limit: 5 });
    expect(page.rows.length === 5 && page.rows.every((b) => b.name && !b.coords), 'names only');
  });
  await call('building.findById', async () => {
    expect((await sdk.building.findById(building.id)).id === building.id, 'the building');
  });
  await call('horizontalCondominium.findById', async () => {
    const found = await sdk.horizontalCondominium.findById(condominium.id);
    expect(found && found.id === condominium.id && found.polygon, 'the condominium');
  });

  // --- prospects (chatbot, CRM) -----------------------------------------------------------
  await call('prospect.create', async () => {
    const prospect = await sdk.prospect.create({
      name: 'Prospect SDK',
      phone: '+5548999990000',
      address: CASE.far.address,
      coords: [CASE.far.lng, CASE.far.lat],
      observation: 'sem viabilidade',
      viable: false,
      code: `${code}-p`,
      external_id: `${code}-p`,
    });
    expect(prospect.id && prospect.code === `${code}-p`, 'the prospect');
    state.prospect = prospect.id;
  });
  await call('prospect.find by code', async () => {
    const page = await sdk.prospect.find({ filter: [eq('code', `${code}-p`)] });
    expect(page.total === 1 && page.rows[0].external_id === `${code}-p`, 'the prospect by code');
  });
  await call('prospect.findById', async () => {
    expect((await sdk.prospect.findById(state.prospect)).name === 'Prospect SDK', 'the prospect');
  });
  await call('prospect.findAll', async () => {
    expect((await sdk.prospect.findAll()).some((p) => p.id === state.prospect), 'among all');
  });
  await call('prospect.updateById', async () => {
    await sdk.prospect.updateById(state.prospect, { observation: 'ligar amanhã', viable: true });
    const prospect = await sdk.prospect.findById(state.prospect);
    expect(prospect.observation === 'ligar amanhã' && prospect.viable === true, 'the update');
  });
  await call('prospect.deleteById', async () => {
    await sdk.prospect.deleteById(state.prospect);
    expect((await sdk.prospect.findById(state.prospect)) === null, 'gone');
  });

  // --- pendencies (ERP) -------------------------------------------------------------------
  await call('pendencyType.find', async () => {
    const page = await sdk.pendencyType.find();
    expect(page.rows.some((t) => t.id === CASE.pendencyType), 'the type to open one with');
  });
  await call('pendency.create', async () => {
    const pendency = await sdk.pendency.create({
      owner: CASE.owner,
      project: CASE.project,
      pendencyType: CASE.pendencyType,
      coords: [covered.lng, covered.lat],
      name: 'Ajustar drop',
      description: 'Cliente relata sinal baixo',
    });
    expect(pendency.id && pendency.solved === false, 'an open pendency');
    state.pendency = pendency.id;
  });
  await call('pendency.find open near', async () => {
    const page = await sdk.pendency.find({
      filter: [near(covered.lat, covered.lng, 500), eq('solved', false)],
    });
    expect(page.rows.some((p) => p.id === state.pendency), 'the open pendency');
  });
  await call('pendency.updateById solved', async () => {
    await sdk.pendency.updateById(state.pendency, { solved: true });
    expect((await sdk.pendency.findById(state.pendency)).solved === true, 'solved');
  });
  await call('pendency.deleteById', async () => {
    await sdk.pendency.deleteById(state.pendency);
    expect((await sdk.pendency.findById(state.pendency)) === null, 'gone');
  });

  // --- cancellation (chatbot, ERP) --------------------------------------------------------
  await call('property.deleteById (cancel the reservation)', async () => {
    await sdk.property.deleteById(state.property);
    const found = await sdk.apiInstance.get({ route: `properties/client/${encodeURIComponent(code)}` });
    expect(found.length === 0, 'no reservation left under the code');
    expect((await sdk.ftthClient.findById(state.client)) === null, 'its client removed');
  });
  await call('ftthClient.deleteById', async () => {
    const client = await sdk.ftthClient.findOne({ filter: [eq('code', CASE.deletableClient)] });
    await sdk.ftthClient.deleteById(client.id);
    expect((await sdk.ftthClient.findById(client.id)) === null, 'gone');
  });
}

main()
  .catch((error) => calls.push({ name: 'the script itself', ok: false, detail: describe(error) }))
  .finally(() => {
    fs.writeFileSync(process.env.SDK_REPORT, JSON.stringify({ calls }, null, 2));
    process.exit(0); // the SDK's logger may keep handles open
  });
