package esdbserver

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/doseledger/doseledger/ledger"
)

// Version is the EventStoreDB server version the server reports to
// clients: the release whose gRPC protocol it follows.
const Version = "24.10.0"

// Options configures a Server. The zero value works.
type Options struct {
	// Logger receives the server's messages; if nil, nothing is logged.
	Logger *slog.Logger
	// Advertise is the host:port gossip reports for this node, the address
	// clients that discover the cluster connect to; the listener's address
	// if empty.
	Advertise string
	// Authenticate, if set, checks the user name and password of every
	// Streams call (HTTP basic credentials, as EventStoreDB clients send
	// them, over TLS only); a call without them, or refused, ends with
	// UNAUTHENTICATED. ServerFeatures and Gossip stay open, as in
	// EventStoreDB. There are no ACLs: a user may do everything.
	Authenticate func(user, password string) bool
	// ReadOnly refuses every append with PERMISSION_DENIED: for auditors,
	// who read and follow the ledger and write nothing.
	ReadOnly bool
	// PageSize is how many events the server takes from the store at a
	// time while a read or subscription catches up; 512 if 0 or less.
	PageSize int
}

// Server puts a ledger.Store behind EventStoreDB's gRPC protocol: the
// Streams service (Append, and Read of a stream or of $all, as a read or
// a catch-up subscription), ServerFeatures and Gossip. Its methods may be
// called concurrently; the store is shared by every call.
type Server struct {
	store     ledger.Store
	log       *slog.Logger
	advertise string
	pageSize  int
	instance  uuid.UUID
	auth      func(user, password string) bool
	readOnly  bool

	// stopping is closed when Serve's ctx is done: reads and
	// subscriptions in flight end, so the gRPC server stops at once.
	stopping chan struct{}
	stopOnce sync.Once
}

// New returns a Server over store. The caller keeps owning store and
// closes it after the gRPC server has stopped.
func New(store ledger.Store, opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	page := opts.PageSize
	if page <= 0 {
		page = 512
	}
	return &Server{store: store, log: log, advertise: opts.Advertise, pageSize: page, instance: uuid.New(), auth: opts.Authenticate, readOnly: opts.ReadOnly,
		stopping: make(chan struct{})}
}

// Register registers the server's services on g.
func (s *Server) Register(g *grpc.Server) {
	streams.RegisterStreamsServer(g, &streamsService{s: s})
	serverfeatures.RegisterServerFeaturesServer(g, featuresService{})
	gossip.RegisterGossipServer(g, gossipService{s: s})
}

// The three services, one type each: Streams and Gossip both have a Read.
type (
	streamsService struct {
		streams.UnimplementedStreamsServer
		s *Server
	}
	featuresService struct {
		serverfeatures.UnimplementedServerFeaturesServer
	}
	gossipService struct {
		gossip.UnimplementedGossipServer
		s *Server
	}
)

// Serve serves the protocol on lis until ctx is done, then stops the gRPC
// server, ending open subscriptions, and returns nil. It returns the
// error that stopped the gRPC server otherwise. opts are passed to
// grpc.NewServer (credentials for TLS, for example).
func (s *Server) Serve(ctx context.Context, lis net.Listener, opts ...grpc.ServerOption) error {
	if s.advertise == "" {
		s.advertise = lis.Addr().String()
	}
	g := grpc.NewServer(append(opts, s.Interceptors()...)...)
	s.Register(g)
	done := make(chan error, 1)
	go func() { done <- g.Serve(lis) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	s.stopOnce.Do(func() { close(s.stopping) })
	// Reads end on stopping; give appends in flight a moment, then cut
	// what is left.
	stopped := make(chan struct{})
	go func() { g.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(2 * time.Second):
		g.Stop()
		<-stopped
	}
	if err := <-done; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

// Interceptors returns the server options that enforce
// Options.Authenticate; Serve adds them, and a caller that builds its own
// grpc.Server with Register passes them to grpc.NewServer.
func (s *Server) Interceptors() []grpc.ServerOption {
	if s.auth == nil {
		return nil
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := s.check(ctx, info.FullMethod); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := s.check(ss.Context(), info.FullMethod); err != nil {
				return err
			}
			return h(srv, ss)
		}),
	}
}

// check enforces Options.Authenticate on the Streams service.
func (s *Server) check(ctx context.Context, method string) error {
	if !strings.HasPrefix(method, "/event_store.client.streams.Streams/") {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		enc, ok := strings.CutPrefix(v, "Basic ")
		if !ok {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			continue
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if ok && s.auth(user, pass) {
			return nil
		}
		s.log.Info("esdb call refused: bad credentials", "user", user, "method", method)
		return status.Error(codes.Unauthenticated, "bad user name or password")
	}
	return status.Error(codes.Unauthenticated, "credentials required")
}

// GetSupportedMethods lists the methods the server implements, as
// EventStoreDB's ServerFeatures service does. Clients read it at connect
// time; BatchAppend and persistent subscriptions are left out, so clients
// do not use them.
func (featuresService) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	const svc = "event_store.client.streams.streams"
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: Version,
		Methods: []*serverfeatures.SupportedMethod{
			{ServiceName: svc, MethodName: "read"},
			{ServiceName: svc, MethodName: "append"},
			{ServiceName: "event_store.client.gossip.gossip", MethodName: "read"},
			{ServiceName: "event_store.client.server_features.serverfeatures", MethodName: "getsupportedmethods"},
		},
	}, nil
}

// Read reports a cluster of one node, this one, as the leader,
// for clients that connect with esdb+discover:// or several gossip seeds.
func (g gossipService) Read(ctx context.Context, _ *shared.Empty) (*gossip.ClusterInfo, error) {
	s := g.s
	host, portStr, err := net.SplitHostPort(s.advertise)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "advertised address %q: %v", s.advertise, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "advertised port %q: %v", portStr, err)
	}
	return &gossip.ClusterInfo{Members: []*gossip.MemberInfo{{
		InstanceId:   protoUUID(s.instance, true),
		TimeStamp:    time.Now().UnixNano() / 100,
		State:        gossip.MemberInfo_Leader,
		IsAlive:      true,
		HttpEndPoint: &gossip.EndPoint{Address: host, Port: uint32(port)},
	}}}, nil
}

// Delete, Tombstone and BatchAppend are refused: the ledger is immutable
// (a correction is a new event), and Append covers every write.
func (*streamsService) Delete(context.Context, *streams.DeleteReq) (*streams.DeleteResp, error) {
	return nil, status.Error(codes.Unimplemented, "the ledger is immutable: streams are never deleted")
}

// Tombstone is refused, as Delete is.
func (*streamsService) Tombstone(context.Context, *streams.TombstoneReq) (*streams.TombstoneResp, error) {
	return nil, status.Error(codes.Unimplemented, "the ledger is immutable: streams are never deleted")
}

// storeError is the gRPC status for an error of the store.
func storeError(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, ledger.ErrClosed):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, ledger.ErrInvalidEvent):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, ledger.ErrDuplicateEventID):
		return status.Error(codes.AlreadyExists, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

func protoUUID(id uuid.UUID, structured bool) *shared.UUID {
	if !structured {
		return &shared.UUID{Value: &shared.UUID_String_{String_: id.String()}}
	}
	most := int64(uint64(id[0])<<56 | uint64(id[1])<<48 | uint64(id[2])<<40 | uint64(id[3])<<32 |
		uint64(id[4])<<24 | uint64(id[5])<<16 | uint64(id[6])<<8 | uint64(id[7]))
	least := int64(uint64(id[8])<<56 | uint64(id[9])<<48 | uint64(id[10])<<40 | uint64(id[11])<<32 |
		uint64(id[12])<<24 | uint64(id[13])<<16 | uint64(id[14])<<8 | uint64(id[15]))
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits: most, LeastSignificantBits: least}}}
}

func fromProtoUUID(p *shared.UUID) (uuid.UUID, error) {
	if p == nil {
		return uuid.Nil, fmt.Errorf("no event id")
	}
	if st := p.GetStructured(); st != nil {
		var id uuid.UUID
		m, l := uint64(st.MostSignificantBits), uint64(st.LeastSignificantBits)
		for i := range 8 {
			id[i] = byte(m >> (56 - 8*i))
			id[8+i] = byte(l >> (56 - 8*i))
		}
		return id, nil
	}
	return uuid.Parse(p.GetString_())
}
